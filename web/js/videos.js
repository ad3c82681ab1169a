// "My videos": the list (GET /videos, newest first, paged with
// next_cursor), kept live while anything is queued or processing.

import { api, deleteVideo } from "./api.js";
import { $, h, notice, announce } from "./dom.js";
import * as fmt from "./format.js";

// error_code (CONTRACT.md section 3) in plain words
export const ERROR_WORDS = {
    input_missing: "The upload never arrived, so there was nothing to process. Please upload the file again.",
    input_unsupported: "This file is not a video format we can read.",
    input_no_video: "This file has no picture: it holds no video track.",
    input_too_large: "This video is over our limits (file size, length or picture size).",
    input_corrupt: "This file is damaged: it could not be decoded.",
    transcode_failed: "Converting this video failed on our side. Please try uploading it again later.",
    storage_failed: "We could not store the converted video. Please try again later.",
};

const STATUS_WORDS = {
    pending_upload: "Waiting for the upload",
    queued: "Queued",
    processing: "Processing",
    done: "Ready",
    failed: "Failed",
};

const POLL_MS = 1500;
const busy = (v) => v.status === "queued" || v.status === "processing";

export class VideoList {
    constructor({ onPlay }) {
        this.onPlay = onPlay;
        this.videos = new Map();      // id -> video, in list order
        this.cursor = null;
        this.timer = null;
        this.uploading = new Set();   // ids this tab is uploading now
        $("more").addEventListener("click", () => this.load(false));
        $("refresh").addEventListener("click", () => this.load(true));
    }

    async load(reset = true) {
        const q = new URLSearchParams({ limit: "20" });
        if (!reset && this.cursor) q.set("cursor", this.cursor);
        let page;
        try {
            page = await api("GET", `/videos?${q}`);
        } catch (e) {
            if (e.status !== 401) notice(`Could not load your videos: ${e.message}`);
            return false;
        }
        // an upload this tab started meanwhile stays on top
        const keep = reset ? [...this.uploading].map((id) => this.videos.get(id)).filter(Boolean) : [];
        if (reset) { this.videos.clear(); $("videos").replaceChildren(); }
        for (const v of page.items) this.upsert(v, false);
        for (const v of keep) if (!this.videos.has(v.id)) this.upsert(v, true);
        this.cursor = page.next_cursor;
        $("more").hidden = !this.cursor;
        this.render();
        return true;
    }

    // a video new or changed; `first` puts a new one at the top
    upsert(video, first = true) {
        const old = this.videos.get(video.id);
        this.videos.set(video.id, video);
        const row = this.row(video);
        const existing = document.getElementById(`video-${video.id}`);
        if (existing) {
            if (JSON.stringify(old) !== JSON.stringify(video)) existing.replaceWith(row);
            if (old && old.status !== video.status) {
                if (video.status === "done") announce(`${video.filename} is ready to play.`);
                if (video.status === "failed") announce(`${video.filename} failed.`);
            }
        } else if (first) {
            $("videos").prepend(row);
        } else {
            $("videos").append(row);
        }
        this.render();
    }

    rerender(id) {
        const v = this.videos.get(id);
        if (v) document.getElementById(`video-${id}`)?.replaceWith(this.row(v));
    }

    remove(id) {
        this.videos.delete(id);
        document.getElementById(`video-${id}`)?.remove();
        this.render();
    }

    render() {
        $("videos-empty").hidden = this.videos.size > 0;
        const anyBusy = [...this.videos.values()].some(busy);
        if (anyBusy && !this.timer) {
            this.timer = setInterval(() => this.poll(), POLL_MS);
        } else if (!anyBusy && this.timer) {
            clearInterval(this.timer);
            this.timer = null;
        }
    }

    async poll() {
        if (this.polling || document.hidden) return;
        this.polling = true;
        try {
            const ids = [...this.videos.values()].filter(busy).map((v) => v.id);
            await Promise.all(ids.map(async (id) => {
                try {
                    this.upsert(await api("GET", `/videos/${id}`));
                } catch (e) {
                    if (e.status === 404) this.remove(id);
                }
            }));
        } finally {
            this.polling = false;
        }
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
        this.videos.clear();
        $("videos").replaceChildren();
    }

    row(v) {
        let status = STATUS_WORDS[v.status] || v.status;
        if (v.status === "processing") status += ` ${Math.round(v.progress || 0)}%`;
        if (v.status === "pending_upload" && this.uploading.has(v.id)) status = "Uploading";
        const meta = [
            v.duration_ms != null ? fmt.clock(v.duration_ms / 1000) : null,
            v.width && v.height ? `${v.width}×${v.height}` : null,
            fmt.bytes(v.size),
            fmt.date(v.created_at),
        ].filter(Boolean).join(" · ");
        const name = h("span", { class: "video-name" }, v.filename);
        return h("li", { id: `video-${v.id}`, class: "video", "data-status": v.status },
            h("div", {},
                name,
                h("span", { class: `status status-${v.status}` }, status)),
            h("div", { class: "video-actions" },
                v.status === "done" && v.outputs && v.outputs.mp4
                    ? h("button", { type: "button", class: "primary play",
                                    "aria-label": `Play ${v.filename}`,
                                    onclick: () => this.onPlay(v) }, "Play")
                    : null,
                h("button", { type: "button", class: "danger delete",
                              "aria-label": `Delete ${v.filename}`,
                              onclick: () => this.delete(v) }, "Delete")),
            h("div", { class: "video-meta" }, meta),
            v.status === "processing" || v.status === "queued"
                ? h("progress", { max: "100", value: String(v.progress || 0),
                                  "aria-label": `Processing ${v.filename}` })
                : null,
            v.status === "failed"
                ? h("p", { class: "video-error" },
                    ERROR_WORDS[v.error_code] || "Processing this video failed.",
                    v.error ? h("span", { class: "muted" }, ` (${v.error})`) : null)
                : null,
            v.status === "pending_upload" && !this.uploading.has(v.id)
                ? h("p", { class: "video-meta" },
                    "The upload did not finish: choose the same file again to resume it.")
                : null);
    }

    async delete(v) {
        if (!window.confirm(`Delete “${v.filename}”? This cannot be undone.`)) return;
        try {
            await deleteVideo(v.id);
            this.remove(v.id);
            announce(`${v.filename} deleted.`);
            this.onDeleted?.(v);
        } catch (e) {
            notice(`Could not delete ${v.filename}: ${e.message}`);
        }
    }
}
