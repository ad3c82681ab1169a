// Uploads: the bytes go from the browser straight to S3 through presigned
// URLs (CONTRACT.md sections 3 and 3.1); the edge only signs.
//
//  - "PUT": one request, its progress from XHR.
//  - "multipart": parts in parallel, each retried; after a reload or a lost
//    connection the user picks the same file again, the app asks the edge
//    what S3 already holds (GET /videos/<id>/upload) and sends only the
//    missing parts, with fresh URLs (GET /videos/<id>/upload/parts).
//
// What is needed to resume is kept in localStorage: the video id, the
// Idempotency-Key of its POST /videos, and the file's name, size and
// modification time (a browser cannot reopen a file by itself).

import { api, ApiError, deleteVideo } from "./api.js";

const STORE = "vidstream.uploads";
const PARALLEL = 4;                 // parts in flight at once
const URL_BATCH = 100;              // part URLs asked for at once
const RETRIES = 6;                  // attempts per request before pausing

export function unfinished() {
    try {
        const list = JSON.parse(localStorage.getItem(STORE) || "[]");
        return Array.isArray(list) ? list : [];
    } catch {
        return [];
    }
}

function save(rec) {
    const list = unfinished().filter((r) => r.id !== rec.id);
    list.push(rec);
    localStorage.setItem(STORE, JSON.stringify(list));
}

export function forget(id) {
    localStorage.setItem(STORE, JSON.stringify(unfinished().filter((r) => r.id !== id)));
}

const sameFile = (rec, file) => rec.name === file.name && rec.size === file.size
    && rec.lastModified === file.lastModified;

export function recordFor(file) {
    return unfinished().find((r) => sameFile(r, file)) || null;
}

// what POST /videos accepts: video/* or application/octet-stream
function contentType(file) {
    return /^video\/[\w.+-]+$/.test(file.type) ? file.type : "application/octet-stream";
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function online() {
    if (navigator.onLine) return Promise.resolve();
    return new Promise((r) => window.addEventListener("online", () => r(), { once: true }));
}

export class UploadAborted extends Error {
    constructor() { super("The upload was paused."); this.name = "UploadAborted"; }
}

class PutError extends Error {
    constructor(status) {
        super(status ? `storage answered ${status}` : "network error");
        this.status = status;
    }
}

// One upload of one file.  onProgress({loaded, total, rate, eta}) and
// onState(sentence) report; run() resolves with the video once it is
// queued for processing.
export class Upload {
    constructor(file, { onProgress = () => {}, onState = () => {},
                        onVideo = () => {}, onDropped = () => {} } = {}) {
        this.file = file;
        this.onProgress = onProgress;
        this.onState = onState;
        this.onVideo = onVideo;         // the video being uploaded, once known
        this.onDropped = onDropped;     // an earlier attempt's video, deleted
        this.recordId = null;
        this.xhrs = new Set();
        this.aborted = false;
        this.samples = [];
        this.resumed = false;
    }

    abort() {
        this.aborted = true;
        for (const x of this.xhrs) x.abort();
    }

    check() { if (this.aborted) throw new UploadAborted(); }

    report(loaded) {
        const now = performance.now();
        this.samples.push([now, loaded]);
        while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
        const [t0, b0] = this.samples[0];
        const rate = now > t0 ? ((loaded - b0) * 1000) / (now - t0) : 0;
        const total = this.file.size;
        this.onProgress({ loaded, total, rate, eta: rate > 0 ? (total - loaded) / rate : NaN });
    }

    // PUT body to a presigned URL; onBytes(n) as they are sent
    put(url, body, headers, onBytes) {
        return new Promise((resolve, reject) => {
            const x = new XMLHttpRequest();
            this.xhrs.add(x);
            x.open("PUT", url);
            for (const [k, v] of Object.entries(headers || {})) x.setRequestHeader(k, v);
            x.upload.onprogress = (e) => onBytes(e.loaded);
            x.onload = () => {
                this.xhrs.delete(x);
                if (x.status >= 200 && x.status < 300) resolve();
                else reject(new PutError(x.status));
            };
            x.onerror = () => { this.xhrs.delete(x); reject(new PutError(0)); };
            x.onabort = () => { this.xhrs.delete(x); reject(new UploadAborted()); };
            x.send(body);
        });
    }

    // retries a request through lost connections and expired URLs; fn gets
    // the attempt number
    async retry(what, fn) {
        for (let attempt = 0; ; attempt++) {
            this.check();
            try {
                return await fn(attempt);
            } catch (e) {
                if (e instanceof UploadAborted || this.aborted) throw new UploadAborted();
                const transient = (e instanceof PutError && (e.status === 0 || e.status === 403
                                                            || e.status >= 500))
                    || (e instanceof ApiError && (e.status === 0 || e.status >= 500));
                if (!transient || attempt + 1 >= RETRIES) {
                    if (e instanceof ApiError) throw e;
                    throw new Error(`${what} could not be sent (${e.message}).`);
                }
                if (!navigator.onLine) this.onState("Connection lost: waiting to resume…");
                await online();
                await sleep(Math.min(8000, 500 * 2 ** attempt));
                this.onState("Uploading…");
            }
        }
    }

    async run() {
        const file = this.file;
        let rec = recordFor(file);
        let state = null;

        if (rec) {
            // where did the last attempt get to?
            this.onState("Checking what was already uploaded…");
            let video = null;
            try {
                video = await api("GET", `/videos/${rec.id}`);
            } catch (e) {
                if (!(e instanceof ApiError) || e.status !== 404) throw e;
            }
            if (video && video.status !== "pending_upload") {
                forget(rec.id);             // completed before the page went
                return video;
            }
            if (video && rec.method === "multipart") {
                try {
                    state = await api("GET", `/videos/${rec.id}/upload`);
                } catch (e) {
                    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 409)) throw e;
                }
            }
            if (state) {
                this.resumed = true;
                this.recordId = rec.id;
                this.onVideo(video);
            } else if (!video) {
                forget(rec.id);             // deleted meanwhile: start afresh
                rec = null;
            }
        }

        if (!state) {
            // The same Idempotency-Key answers the same video with fresh
            // URLs (within 24 h), so a single PUT cut short restarts there.
            const key = (rec && rec.key) || crypto.randomUUID();
            this.onState("Preparing…");
            const create = () => api("POST", "/videos", {
                body: { filename: file.name, content_type: contentType(file), size: file.size },
                headers: { "Idempotency-Key": key },
            });
            const created = await this.retry("The request", create);
            if (rec && rec.id !== created.id) {
                // another video: the key's 24 h are over (or the edge keeps
                // no keys); the old one would only linger
                const old = rec.id;
                deleteVideo(old).then(() => this.onDropped(old), () => {});
                forget(old);
            }
            rec = { id: created.id, key, method: created.upload.method, name: file.name,
                    size: file.size, lastModified: file.lastModified, started: Date.now() };
            save(rec);
            this.recordId = rec.id;
            const { upload: _, ...video } = created;
            this.onVideo(video);
            this.onState("Uploading…");
            if (created.upload.method === "PUT") {
                await this.single(created.upload, async () => (await create()).upload);
            } else if (created.upload.method === "multipart") {
                await this.parts(rec.id, created.upload, []);
            } else {
                throw new Error(`The server asked for an upload method this page does not know (${created.upload.method}).`);
            }
        } else {
            this.onState("Resuming…");
            await this.parts(rec.id, state, state.uploaded || []);
        }

        this.onState("Finishing…");
        const video = await this.complete(rec);
        forget(rec.id);
        return video;
    }

    // renew(): the same POST /videos again (same Idempotency-Key), for a
    // fresh URL when the last one expired during a long outage
    async single(upload, renew) {
        this.report(0);
        let refused = 0;
        await this.retry("The file", async () => {
            if (Date.parse(upload.expires_at) - Date.now() < 60000) upload = await renew();
            try {
                await this.put(upload.url, this.file, upload.headers, (n) => this.report(n));
            } catch (e) {
                // 403 on a URL still valid: it will not get better
                if (e instanceof PutError && e.status === 403 && ++refused > 1) {
                    throw new Error("The storage refused the upload (403).");
                }
                if (e instanceof PutError && e.status === 403) upload = await renew();
                throw e;
            }
        });
        this.report(this.file.size);
    }

    // Sends every part not in `uploaded` (with its right size), PARALLEL at
    // a time.
    async parts(id, info, uploaded) {
        const size = this.file.size;
        const { part_size: partSize, part_count: count } = info;
        const length = (n) => (n < count ? partSize : size - partSize * (count - 1));
        const have = new Set(uploaded.filter((p) => p.size === length(p.part_number))
                                     .map((p) => p.part_number));
        let done = 0;
        for (const n of have) done += length(n);
        const inflight = new Map();
        const progress = () => {
            let sum = done;
            for (const v of inflight.values()) sum += v;
            this.report(sum);
        };
        progress();

        const urls = new Map();
        let expires = 0;
        const keep = (list, expiresAt) => {
            for (const p of list || []) urls.set(p.part_number, p.url);
            expires = Date.parse(expiresAt) || Date.now() + 300000;
        };
        if (info.parts) keep(info.parts, info.expires_at);
        let asking = null;
        const urlFor = async (n) => {
            for (;;) {
                if (urls.has(n) && expires - Date.now() > 60000) return urls.get(n);
                if (expires - Date.now() <= 60000) urls.clear();
                if (!asking) {
                    asking = api("GET", `/videos/${id}/upload/parts?first=${n}&count=${URL_BATCH}`)
                        .then((r) => keep(r.parts, r.expires_at))
                        .finally(() => { asking = null; });
                }
                await asking;
                if (!urls.has(n)) throw new Error(`The server gave no link for part ${n}.`);
            }
        };

        const todo = [];
        for (let n = 1; n <= count; n++) if (!have.has(n)) todo.push(n);
        const one = async (n) => {
            const blob = this.file.slice(partSize * (n - 1), partSize * (n - 1) + length(n));
            await this.retry(`Part ${n}`, async () => {
                const url = await urlFor(n);
                inflight.set(n, 0);
                try {
                    await this.put(url, blob, {}, (b) => { inflight.set(n, b); progress(); });
                } catch (e) {
                    if (e instanceof PutError && e.status === 403) urls.delete(n);
                    throw e;
                } finally {
                    inflight.delete(n);
                }
            });
            done += length(n);
            progress();
        };
        const lanes = Array.from({ length: Math.min(PARALLEL, todo.length) }, async () => {
            while (todo.length) {
                this.check();
                await one(todo.shift());
            }
        });
        try {
            await Promise.all(lanes);
        } catch (e) {
            this.abort();               // stop the other lanes' requests
            throw e;
        }
    }

    async complete(rec) {
        for (let round = 0; ; round++) {
            try {
                await this.retry("Completing", () => api("POST", `/videos/${rec.id}/complete`));
                return await api("GET", `/videos/${rec.id}`);
            } catch (e) {
                // parts that S3 does not hold (a lost answer): send them again
                if (e instanceof ApiError && e.code === "upload_incomplete"
                    && rec.method === "multipart" && round === 0) {
                    this.onState("Sending missing parts…");
                    const state = await api("GET", `/videos/${rec.id}/upload`);
                    await this.parts(rec.id, state, state.uploaded || []);
                    continue;
                }
                throw e;
            }
        }
    }
}
