// Playing a finished video: GET /videos/<id>/playback answers edge URLs
// (/play/<token>/video.mp4, .../thumbnail.jpg, .../hls/index.m3u8) that a
// <video> plays without headers (CONTRACT.md section 3.2).  Where the edge
// has no /playback yet, the presigned S3 URLs of /download stand in (MP4 and
// poster only: an HLS playlist's segments cannot be presigned one by one).
// HLS plays natively where the browser can, else through hls.js, served by
// the edge as /app/vendor/hls.min.js.

import { api } from "./api.js";
import { $, h, notice } from "./dom.js";

let hls = null;
let current = null;

function loadHlsJs() {
    if (window.Hls) return Promise.resolve(window.Hls);
    return new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = "/app/vendor/hls.min.js";
        s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error("hls.js did not load")));
        s.onerror = () => reject(new Error("hls.js could not be loaded"));
        document.head.append(s);
    });
}

async function sources(video) {
    try {
        const p = await api("GET", `/videos/${video.id}/playback`);
        return { ...p, via: "edge" };
    } catch (e) {
        if (e.status !== 404) throw e;
    }
    // no /playback on this edge (or the video is gone: then this 404s too)
    const mp4 = await api("GET", `/videos/${video.id}/download?variant=mp4`);
    const thumb = video.outputs && video.outputs.thumbnail
        ? await api("GET", `/videos/${video.id}/download?variant=thumbnail`).catch(() => null)
        : null;
    return { mp4: mp4.url, thumbnail: thumb && thumb.url, hls: null, via: "presigned" };
}

function detach() {
    if (hls) { hls.destroy(); hls = null; }
    const el = $("video");
    el.pause();
    el.removeAttribute("src");
    el.load();
}

async function show(format) {
    const el = $("video");
    detach();
    for (const b of $("formats").children) {
        b.setAttribute("aria-pressed", String(b.dataset.format === format));
    }
    $("player").dataset.format = format;
    if (current.thumbnail) el.poster = current.thumbnail;
    if (format === "mp4") {
        el.src = current.mp4;
        $("player-note").textContent = "MP4";
        return;
    }
    if (el.canPlayType("application/vnd.apple.mpegurl")) {
        el.src = current.hls;
        $("player-note").textContent = "HLS (played by the browser)";
        return;
    }
    const Hls = await loadHlsJs();
    if (!Hls.isSupported()) {
        $("player-note").textContent = "This browser cannot play HLS: choose MP4.";
        return;
    }
    // no worker: the CSP allows no blob: scripts beyond media
    hls = new Hls({ enableWorker: false });
    hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) notice(`The HLS stream could not be played (${data.details}).`);
    });
    hls.loadSource(current.hls);
    hls.attachMedia(el);
    $("player-note").textContent = "HLS (played by hls.js)";
}

export async function play(video) {
    notice(null);
    let src;
    try {
        src = await sources(video);
    } catch (e) {
        notice(`Could not play ${video.filename}: ${e.message}`);
        return;
    }
    current = { ...src, id: video.id };
    $("player-title").textContent = video.filename;
    $("player").dataset.via = src.via;
    const formats = [h("button", { type: "button", "data-format": "mp4",
                                   onclick: () => show("mp4") }, "MP4")];
    if (src.hls) {
        formats.push(h("button", { type: "button", "data-format": "hls",
                                   onclick: () => show("hls") }, "HLS (adaptive)"));
    }
    $("formats").replaceChildren(...formats);
    $("player").hidden = false;
    await show(src.hls ? "hls" : "mp4");
    $("player").scrollIntoView({ block: "nearest" });
    $("video").focus();
}

export function playing() { return current ? current.id : null; }

export function close() {
    detach();
    current = null;
    $("player").hidden = true;
}

export function init() {
    $("player-close").addEventListener("click", close);
    $("video").addEventListener("error", () => {
        const err = $("video").error;
        if (err && current) notice(`The video could not be played (${err.message || `error ${err.code}`}).`);
    });
}
