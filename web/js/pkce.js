// Cognito's hosted UI: the OAuth 2.0 authorization-code flow with PKCE
// (RFC 7636, S256), for a public client (no secret in the page).
//
// config.json names the pool's domain, the app client and the redirect
// URI; see nginx.conf.d/production.conf.template.

export function base64url(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// 32 random bytes: a 43-character verifier (RFC 7636 wants 43 to 128)
export function randomVerifier(byteCount = 32) {
    const a = new Uint8Array(byteCount);
    crypto.getRandomValues(a);
    return base64url(a);
}

// code_challenge = BASE64URL(SHA-256(ASCII(code_verifier)))
export async function challengeS256(verifier) {
    const digest = await crypto.subtle.digest("SHA-256",
                                              new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
}

function origin(domain) {
    const d = String(domain).replace(/\/+$/, "");
    return /^https?:\/\//.test(d) ? d : `https://${d}`;
}

export function authorizeUrl(cfg, { state, challenge }) {
    const u = new URL("/oauth2/authorize", origin(cfg.domain));
    u.search = new URLSearchParams({
        response_type: "code",
        client_id: cfg.client_id,
        redirect_uri: cfg.redirect_uri,
        scope: (cfg.scopes || ["openid"]).join(" "),
        state,
        code_challenge: challenge,
        code_challenge_method: "S256",
    }).toString();
    return u.href;
}

export function logoutUrl(cfg) {
    if (!cfg.logout_uri) return null;
    const u = new URL("/logout", origin(cfg.domain));
    u.search = new URLSearchParams({
        client_id: cfg.client_id, logout_uri: cfg.logout_uri,
    }).toString();
    return u.href;
}

const PENDING = "vidstream.pkce";

// Remembers a fresh verifier and state for this tab, then leaves for the
// hosted UI.
export async function beginSignIn(cfg) {
    const verifier = randomVerifier();
    const state = randomVerifier(16);
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
    location.assign(authorizeUrl(cfg, { state, challenge: await challengeS256(verifier) }));
}

// On the redirect back: null when the URL carries no answer; otherwise the
// token endpoint's answer ({access_token, id_token, expires_in, ...}), or an
// Error with a sentence for the user.  The state must be the one this tab
// sent, and is usable once.
export async function finishSignIn(cfg, url, fetchFn = fetch) {
    const q = new URL(url).searchParams;
    if (!q.has("code") && !q.has("error")) return null;
    const saved = JSON.parse(sessionStorage.getItem(PENDING) || "null");
    sessionStorage.removeItem(PENDING);
    if (q.has("error")) {
        throw new Error(`Sign-in was not completed: ${q.get("error_description") || q.get("error")}.`);
    }
    if (!saved || !q.get("state") || saved.state !== q.get("state")) {
        throw new Error("The sign-in answer does not belong to this tab (state check failed). Please sign in again.");
    }
    let res;
    try {
        res = await fetchFn(new URL("/oauth2/token", origin(cfg.domain)).href, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
                grant_type: "authorization_code",
                client_id: cfg.client_id,
                code: q.get("code"),
                redirect_uri: cfg.redirect_uri,
                code_verifier: saved.verifier,
            }).toString(),
        });
    } catch {
        throw new Error("Could not reach the sign-in service. Check your connection and try again.");
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.access_token) {
        throw new Error(`Sign-in failed: ${body.error_description || body.error || res.status}.`);
    }
    return body;
}
