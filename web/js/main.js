// The page: sign in, upload, the list, the player.

import { setToken as apiToken, setUnauthorizedHandler, deleteVideo } from "./api.js";
import * as auth from "./auth.js";
import * as pkce from "./pkce.js";
import { $, h, notice, announce } from "./dom.js";
import { Upload, UploadAborted, unfinished, forget } from "./upload.js";
import { VideoList } from "./videos.js";
import * as player from "./player.js";
import * as fmt from "./format.js";

let config = {};
let list = null;
let upload = null;

async function loadConfig() {
    try {
        const res = await fetch("/app/config.json", { cache: "no-store" });
        return res.ok ? await res.json() : {};
    } catch {
        return {};
    }
}

const cognito = () => (config && config.cognito && config.cognito.domain
                       && config.cognito.client_id && config.cognito.redirect_uri
                       ? config.cognito : null);

// ---- signing in and out ----------------------------------------------------

function showSignIn(message) {
    $("app").hidden = true;
    $("who").hidden = true;
    $("sign-in").hidden = false;
    $("cognito-sign-in").hidden = !cognito();
    if (message) notice(message);
}

async function signedIn(token) {
    auth.setToken(token);
    apiToken(token);
    $("sign-in").hidden = true;
    $("token-input").value = "";
    $("who-name").textContent = auth.displayName(token);
    $("who").hidden = false;
    $("app").hidden = false;
    renderUnfinished();
    await list.load(true);
}

function signOut(message) {
    upload?.abort();
    player.close();
    list.stop();
    auth.clearToken();
    apiToken(null);
    const out = cognito() && !message ? pkce.logoutUrl(cognito()) : null;
    if (out) { location.assign(out); return; }
    showSignIn(message);
    if (!message) notice(null);
}

// ---- uploads ---------------------------------------------------------------

function renderUnfinished() {
    const items = unfinished().filter((r) => !upload || r.id !== upload.recordId);
    $("resumable").replaceChildren(...items.map((r) => h("li", {},
        h("span", {}, h("strong", {}, r.name), ` (${fmt.bytes(r.size)}) did not finish uploading: choose it again to resume.`),
        h("button", { type: "button", class: "danger", onclick: async () => {
            if (!window.confirm(`Discard the unfinished upload of “${r.name}”?`)) return;
            try {
                await deleteVideo(r.id);
            } catch (e) {
                notice(`Could not discard it: ${e.message}`);
                return;
            }
            forget(r.id);
            list.remove(r.id);
            renderUnfinished();
        } }, "Discard"))));
}

function setUploadState(text) {
    $("upload-state").textContent = text;
}

async function startUpload(file) {
    if (upload) { notice("An upload is already running: wait for it or pause it first."); return; }
    if (!file) return;
    notice(null);
    $("upload").hidden = false;
    delete $("upload").dataset.state;
    $("upload-name").textContent = file.name;
    $("upload-progress").max = Math.max(1, file.size);
    $("upload-progress").value = 0;
    $("upload-figures").textContent = "";
    $("upload-cancel").hidden = false;
    $("upload-cancel").disabled = false;
    $("file-input").disabled = true;
    const u = new Upload(file, {
        onState: setUploadState,
        onVideo: (video) => {
            list.uploading.add(video.id);
            list.upsert(video);
            renderUnfinished();
        },
        onDropped: (id) => list.remove(id),
        onProgress: ({ loaded, total, rate, eta }) => {
            $("upload-progress").value = loaded;
            const pct = total ? Math.floor((loaded * 100) / total) : 100;
            $("upload-figures").textContent = [
                `${pct}%`, `${fmt.bytes(loaded)} of ${fmt.bytes(total)}`,
                loaded < total ? fmt.rate(rate) : null,
                loaded < total ? fmt.eta(eta) : null,
            ].filter(Boolean).join(" · ");
        },
    });
    upload = u;
    try {
        const video = await u.run();
        $("upload-progress").value = $("upload-progress").max;
        setUploadState(u.resumed ? "Uploaded (resumed): processing starts shortly." : "Uploaded: processing starts shortly.");
        $("upload").dataset.state = "done";
        announce(`${file.name} uploaded.`);
        list.uploading.delete(video.id);
        list.upsert(video);
    } catch (e) {
        $("upload").dataset.state = "stopped";
        if (u.recordId) {
            list.uploading.delete(u.recordId);
            list.rerender(u.recordId);
        }
        if (e instanceof UploadAborted) {
            setUploadState("Paused. Choose the same file again to resume.");
        } else if (e.status !== 401) {
            setUploadState("Stopped.");
            notice(`The upload of ${file.name} stopped: ${e.message} Choose the same file again to resume.`);
        }
    } finally {
        upload = null;
        $("upload-cancel").hidden = true;
        $("file-input").disabled = false;
        $("file-input").value = "";
        renderUnfinished();
    }
}

function initUpload() {
    const drop = $("drop");
    $("file-input").addEventListener("change", (e) => startUpload(e.target.files[0]));
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        const file = e.dataTransfer && e.dataTransfer.files[0];
        if (file) startUpload(file);
    });
    $("upload-cancel").addEventListener("click", () => {
        $("upload-cancel").disabled = true;
        upload?.abort();
    });
    // a tab closed mid-upload can resume, but say so
    window.addEventListener("beforeunload", (e) => { if (upload) e.preventDefault(); });
}

// ---- start -----------------------------------------------------------------

async function main() {
    config = await loadConfig();
    list = new VideoList({ onPlay: (v) => player.play(v) });
    list.onDeleted = (v) => { if (player.playing() === v.id) player.close(); };
    player.init();
    initUpload();
    setUnauthorizedHandler((err) => signOut(err.message));
    $("sign-out").addEventListener("click", () => signOut());
    $("token-form").addEventListener("submit", (e) => {
        e.preventDefault();
        const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
        const problem = auth.tokenProblem(token);
        if (problem) { notice(problem); $("token-input").focus(); return; }
        notice(null);
        signedIn(token);
    });
    $("cognito-button").addEventListener("click", () => {
        pkce.beginSignIn(cognito()).catch((e) => notice(`Could not start signing in: ${e.message}`));
    });

    // back from Cognito's hosted UI with ?code=…&state=…
    if (cognito()) {
        try {
            const tokens = await pkce.finishSignIn(cognito(), location.href);
            if (tokens) {
                history.replaceState(null, "", location.pathname);
                await signedIn(tokens.access_token);
                return;
            }
        } catch (e) {
            history.replaceState(null, "", location.pathname);
            showSignIn(e.message);
            return;
        }
    }
    const token = auth.getToken();
    if (token && !auth.tokenProblem(token)) await signedIn(token);
    else showSignIn(token ? "Your sign-in expired. Please sign in again." : null);
}

main();
