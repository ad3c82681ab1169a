// The edge's HTTP API (CONTRACT.md section 3): JSON in and out, the bearer
// token on every call, every failure turned into an ApiError whose message
// is a sentence for a person.

export class ApiError extends Error {
    constructor(status, code, message, body) {
        super(message);
        this.name = "ApiError";
        this.status = status;      // 0: no answer at all (network)
        this.code = code;          // the API's "error" field
        this.body = body;          // the whole JSON error, when there is one
    }
}

let token = null;
let onUnauthorized = () => {};

export function setToken(value) { token = value; }

// called with the ApiError of any 401, so that the app can sign out
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// RFC 6750: error_description="…" of a WWW-Authenticate header
function bearerReason(header) {
    const m = /error_description="([^"]*)"/.exec(header || "");
    return m ? m[1] : null;
}

function explain(status, body, headers) {
    const code = body && body.error;
    switch (status) {
    case 401: {
        const why = bearerReason(headers.get("WWW-Authenticate"));
        return "Your sign-in was not accepted" + (why ? ` (${why})` : "")
            + ". Please sign in again.";
    }
    case 403:
        return code === "insufficient_scope"
            ? "Your account is not allowed to do this."
            : "This is not allowed.";
    case 404:
        return "This video does not exist (any more).";
    case 409:
        return code === "not_ready"
            ? "This video is not ready yet."
            : (body && body.message) || "This cannot be done in the video's current state.";
    case 413:
        return "This file is larger than the largest upload allowed.";
    case 415:
        return "This type of file is not accepted: please choose a video file.";
    case 503:
        return "The service is briefly unavailable. Please try again in a moment.";
    }
    if (status >= 500) {
        return `The server had a problem (${status}). Please try again in a moment.`;
    }
    return (body && body.message) || `The server answered ${status}.`;
}

// api("POST", "/videos", {body: {...}, headers: {...}}) -> the parsed JSON
// (null for 204)
export async function api(method, path, { body, headers } = {}) {
    const h = { Accept: "application/json", ...(headers || {}) };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    let res;
    try {
        res = await fetch(path, {
            method, headers: h, cache: "no-store",
            body: body === undefined ? undefined : JSON.stringify(body),
        });
    } catch {
        throw new ApiError(0, "network",
            "Could not reach the server. Check your connection and try again.");
    }
    const text = res.status === 204 ? "" : await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!res.ok) {
        const err = new ApiError(res.status, (data && data.error) || `http_${res.status}`,
                                 explain(res.status, data, res.headers), data);
        if (res.status === 401) onUnauthorized(err);
        throw err;
    }
    return data;
}

// DELETE /videos/<id>; gone already (404) is as good.  A 503 changed
// nothing, so it is tried once more after a moment.
export async function deleteVideo(id) {
    for (let attempt = 0; ; attempt++) {
        try {
            await api("DELETE", `/videos/${id}`);
            return;
        } catch (e) {
            if (e.status === 404) return;
            if (e.status !== 503 || attempt > 0) throw e;
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}
