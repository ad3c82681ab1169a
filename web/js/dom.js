// A few DOM helpers: elements are built, never parsed from strings, so no
// inline markup, style or script can slip in (the page's CSP forbids them).

export const $ = (id) => document.getElementById(id);

// h("button", {type: "button", class: "danger", onclick: fn}, "Delete")
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        else if (k === "class") el.className = v;
        else if (k in el && typeof v !== "string") el[k] = v;
        else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
        if (c === null || c === undefined || c === false) continue;
        el.append(c instanceof Node ? c : String(c));
    }
    return el;
}

let noticeTimer = null;

// A message at the top of the page, read out by screen readers (role=alert).
export function notice(text, kind = "error") {
    const el = $("notice");
    clearTimeout(noticeTimer);
    if (!text) { el.hidden = true; el.textContent = ""; return; }
    el.textContent = text;
    el.className = `notice ${kind === "info" ? "info" : ""}`;
    el.hidden = false;
    if (kind === "info") noticeTimer = setTimeout(() => notice(null), 6000);
}

// A polite announcement for screen readers only.
export function announce(text) {
    $("live").textContent = text;
}
