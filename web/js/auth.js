// Who is signed in: the access token lives in sessionStorage (this tab
// only, gone when it closes); it is read, never verified, here: the edge
// verifies it on every call.

const KEY = "vidstream.token";

export function getToken() { return sessionStorage.getItem(KEY); }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

// The claims of a JWT, or null when it is not one.
export function claims(token) {
    const parts = String(token || "").split(".");
    if (parts.length !== 3) return null;
    try {
        const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
        const json = new TextDecoder().decode(
            Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
        const c = JSON.parse(json);
        return c && typeof c === "object" ? c : null;
    } catch {
        return null;
    }
}

// A sentence when the pasted text cannot be a usable token, else null.
export function tokenProblem(token) {
    const c = claims(token);
    if (!c) return "This does not look like a token: paste the whole access token (three parts separated by dots).";
    if (typeof c.exp === "number" && c.exp * 1000 <= Date.now()) {
        return "This token has expired: get a new one.";
    }
    return null;
}

export function displayName(token) {
    const c = claims(token) || {};
    return c.username || c["cognito:username"] || c.email || c.sub || "signed in";
}
