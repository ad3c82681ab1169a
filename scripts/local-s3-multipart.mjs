// The multipart calls s3rver 3.7.1 lacks or gets wrong, made to behave as
// S3 does, over s3rver's own store (used by scripts/local-aws.mjs).
//
// s3rver keeps an upload in progress in DIR/<bucket>/._S3rver_uploads/<id>/:
// a file "key", a file "metadata" (the Create request's headers), and per
// part a file "<n>" with its bytes and "<n>.md5" with their hex MD5.  Its
// Create and UploadPart work; it has no ListParts, ListMultipartUploads or
// AbortMultipartUpload (405/NotImplemented), its Complete assembles
// whatever it is given without checking ETags, order or sizes, and an
// UploadPart or Complete for an unknown upload id creates a directory or
// fails with a 500.  (Parts are now stored where they go in the object
// when they can be, and assembled without a copy: see store.putPart and
// assemble below.)  This Koa middleware runs before s3rver's router:
//
//   GET    /bucket?uploads            ListMultipartUploads (prefix,
//                                     key-marker, upload-id-marker,
//                                     max-uploads, delimiter)
//   GET    /bucket/key?uploadId=I     ListParts (max-parts,
//                                     part-number-marker), paginated
//   DELETE /bucket/key?uploadId=I     AbortMultipartUpload: 204
//   PUT    /bucket/key?partNumber=N&uploadId=I
//                                     checked (NoSuchUpload, part number
//                                     1…10,000), then s3rver's UploadPart
//   POST   /bucket/key?uploadId=I     checked like S3 (NoSuchUpload,
//                                     MalformedXML, InvalidPartOrder,
//                                     InvalidPart, EntityTooSmall), then
//                                     s3rver's Complete, whose assembly
//                                     (store.putObjectMultipart) is
//                                     replaced, as is the way it stores
//                                     parts (store.putPart): see below
//
// An unknown upload id, or one of another key, is S3's 404 NoSuchUpload.
//
// Test hook: S3 may answer CompleteMultipartUpload with 200 and an <Error>
// body (it sends the status early and whitespace while it assembles).
// This emulator does the same, without completing, when
//   - the object .vidstream-test/complete-error exists in the bucket: its
//     body is "CODE [COUNT]" (default InternalError, 1); each Complete it
//     answers so counts down, the object goes at zero; or
//   - VIDSTREAM_S3_COMPLETE_ERROR=CODE is in the emulator's environment
//     (every Complete, for a whole stack).
import crypto from "node:crypto";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export const COMPLETE_ERROR_KEY = ".vidstream-test/complete-error";

const NS = "http://s3.amazonaws.com/doc/2006-03-01/";
const PART_MIN = 5 * 1024 * 1024;   // S3's minimum for all but the last
const COMPLETE_BODY_MAX = 4 * 1024 * 1024;

const MESSAGES = {
    NoSuchUpload: "The specified upload does not exist. The upload ID may "
        + "be invalid, or the upload may have been aborted or completed.",
    InvalidPart: "One or more of the specified parts could not be found.  "
        + "The part may not have been uploaded, or the specified entity "
        + "tag may not match the part's entity tag.",
    InvalidPartOrder: "The list of parts was not in ascending order. The "
        + "parts list must be specified in order by part number.",
    EntityTooSmall: "Your proposed upload is smaller than the minimum "
        + "allowed size",
    MalformedXML: "The XML you provided was not well-formed or did not "
        + "validate against our published schema.",
    InternalError: "We encountered an internal error. Please try again.",
    SlowDown: "Please reduce your request rate.",
};

function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({
        "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
        "'": "&apos;",
    })[c]);
}

function el(name, value) {
    return `<${name}>${esc(value)}</${name}>`;
}

// Installs the middleware into server (an S3rver, a Koa app) just before
// its router; require resolves s3rver's own modules.
export function addMultipart(server, require) {
    const S3Error = require("s3rver/lib/models/error");
    const S3Object = require("s3rver/lib/models/object");
    const authentication = require("s3rver/lib/middleware/authentication");
    const xmlParser = require("fast-xml-parser");
    const he = require("he");

    const auth = authentication();
    const store = server.store;

    const s3error = (code, detail = {}, message) =>
        new S3Error(code, message || MESSAGES[code] || code, detail);

    const uploadsDir = (bucket) =>
        store.getResourcePath(bucket, undefined, "uploads");

    // The upload, or null: s3rver's ids are 32 hex digits, anything else
    // (a path included) names no upload.
    async function readUpload(bucket, uploadId) {
        if (!/^[0-9a-f]{32}$/.test(uploadId || "")) {
            return null;
        }
        const dir = path.join(uploadsDir(bucket), uploadId);
        try {
            const keyFile = path.join(dir, "key");
            const [key, st] = await Promise.all([
                fs.readFile(keyFile, "utf8"), fs.stat(keyFile),
            ]);
            return { id: uploadId, key, dir, initiated: st.mtime };
        } catch (err) {
            if (err.code === "ENOENT") {
                return null;
            }
            throw err;
        }
    }

    async function mustUpload(ctx, bucket, key, uploadId) {
        const upload = await readUpload(bucket, uploadId);
        if (!upload || upload.key !== key) {
            throw s3error("NoSuchUpload", { UploadId: uploadId });
        }
        return upload;
    }

    // Where part N's bytes are: in the upload's file "data" at
    // (N - 1) * stride when "N.at" says so (see putPart below), else in
    // s3rver's own file "N".  Throws ENOENT when neither is there.
    //
    // The parts' small files are read synchronously: they are in the page
    // cache, and each of the thread pool's hops cost 0.3 ms while the
    // parts' gigabyte was being written back, so that ListParts and
    // Complete took 50 ms each for 128 parts (5 ms like this).
    function partAt(dir, n) {
        try {
            const file = path.join(dir, `${n}.at`);
            const at = JSON.parse(fsSync.readFileSync(file, "utf8"));
            return { file: path.join(dir, "data"), offset: at.offset,
                     size: at.size, inData: true,
                     modified: fsSync.statSync(file).mtime };
        } catch (err) {
            if (err.code !== "ENOENT") {
                throw err;
            }
        }
        const file = path.join(dir, String(n));
        const st = fsSync.statSync(file);
        return { file, offset: 0, size: st.size, inData: false,
                 modified: st.mtime };
    }

    // The stored parts of an upload, by number; a part still being written
    // (no .md5 yet) is not there.
    async function readParts(upload) {
        const names = await fs.readdir(upload.dir);
        const numbers = new Set();
        for (const name of names) {
            const m = /^([1-9][0-9]*)(?:\.at)?$/.exec(name);
            if (m) {
                numbers.add(Number(m[1]));
            }
        }
        const parts = [];
        for (const n of [...numbers].sort((a, b) => a - b)) {
            try {
                const md5 = fsSync.readFileSync(
                    path.join(upload.dir, `${n}.md5`), "utf8");
                const at = partAt(upload.dir, n);
                parts.push({ number: n, md5: md5.trim(), size: at.size,
                             modified: at.modified });
            } catch (err) {
                if (err.code !== "ENOENT") {
                    throw err;
                }
            }
        }
        return parts;
    }

    function intArg(ctx, name, dflt, min, max) {
        const v = ctx.query[name];
        if (v === undefined) {
            return dflt;
        }
        if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
            throw s3error("InvalidArgument", {
                ArgumentName: name, ArgumentValue: v,
            }, `Argument ${name} must be an integer between ${min} and `
               + `${max}`);
        }
        return Number(v);
    }

    function xml(ctx, body) {
        ctx.status = 200;
        ctx.type = "application/xml";
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body;
    }

    function owner(ctx) {
        const account = ctx.state.account || { id: "123456789000",
                                               displayName: "S3rver" };
        const who = el("ID", account.id) + el("DisplayName",
                                              account.displayName);
        return `<Initiator>${who}</Initiator><Owner>${who}</Owner>`;
    }

    async function listParts(ctx, bucket, key) {
        const upload = await mustUpload(ctx, bucket, key,
                                        ctx.query.uploadId);
        const maxParts = Math.min(intArg(ctx, "max-parts", 1000, 0,
                                         2147483647), 1000);
        const marker = intArg(ctx, "part-number-marker", 0, 0, 2147483647);

        const after = (await readParts(upload))
            .filter((p) => p.number > marker);
        const page = after.slice(0, maxParts);
        const truncated = after.length > page.length;
        const next = page.length ? page[page.length - 1].number : marker;

        xml(ctx, `<ListPartsResult xmlns="${NS}">`
            + el("Bucket", bucket) + el("Key", key)
            + el("UploadId", upload.id) + owner(ctx)
            + el("StorageClass", "STANDARD")
            + el("PartNumberMarker", marker)
            + el("NextPartNumberMarker", next)
            + el("MaxParts", maxParts)
            + el("IsTruncated", truncated)
            + page.map((p) => "<Part>" + el("PartNumber", p.number)
                       + el("LastModified", p.modified.toISOString())
                       + el("ETag", `"${p.md5}"`) + el("Size", p.size)
                       + "</Part>").join("")
            + "</ListPartsResult>");
    }

    async function listUploads(ctx, bucket) {
        const prefix = ctx.query.prefix || "";
        const delimiter = ctx.query.delimiter || "";
        const keyMarker = ctx.query["key-marker"] || "";
        const idMarker = keyMarker ? ctx.query["upload-id-marker"] || "" : "";
        const maxUploads = Math.min(intArg(ctx, "max-uploads", 1000, 0,
                                           2147483647), 1000);
        const urlEncode = ctx.query["encoding-type"] === "url";
        const enc = (s) => (urlEncode ? encodeURIComponent(s) : s);

        let ids = [];
        try {
            ids = await fs.readdir(uploadsDir(bucket));
        } catch (err) {
            if (err.code !== "ENOENT") {
                throw err;
            }
        }
        const uploads = (await Promise.all(ids.map((id) =>
            readUpload(bucket, id))))
            .filter((u) => u && u.key.startsWith(prefix))
            // S3's order: by key, then by initiation
            .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1
                             : a.initiated - b.initiated
                               || (a.id < b.id ? -1 : 1)));

        let start = 0;
        if (keyMarker) {
            const at = idMarker
                ? uploads.findIndex((u) => u.key === keyMarker
                                    && u.id === idMarker)
                : -1;
            start = at >= 0 ? at + 1
                : uploads.findIndex((u) => u.key > keyMarker);
            if (start < 0) {
                start = uploads.length;
            }
        }

        const listed = [];
        const prefixes = new Set();
        let truncated = false;
        for (const u of uploads.slice(start)) {
            const rest = u.key.slice(prefix.length);
            const cut = delimiter ? rest.indexOf(delimiter) : -1;
            if (cut >= 0) {
                prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
                continue;
            }
            if (listed.length === maxUploads) {
                truncated = true;
                break;
            }
            listed.push(u);
        }
        const last = listed[listed.length - 1];

        xml(ctx, `<ListMultipartUploadsResult xmlns="${NS}">`
            + el("Bucket", bucket)
            + el("KeyMarker", enc(keyMarker))
            + el("UploadIdMarker", idMarker)
            + (truncated ? el("NextKeyMarker", enc(last.key))
               + el("NextUploadIdMarker", last.id) : "")
            + (ctx.query.prefix !== undefined
               ? el("Prefix", enc(prefix)) : "")
            + (delimiter ? el("Delimiter", enc(delimiter)) : "")
            + el("MaxUploads", maxUploads)
            + el("IsTruncated", truncated)
            + listed.map((u) => "<Upload>" + el("Key", enc(u.key))
                         + el("UploadId", u.id) + owner(ctx)
                         + el("StorageClass", "STANDARD")
                         + el("Initiated", u.initiated.toISOString())
                         + "</Upload>").join("")
            + [...prefixes].sort().map((p) => "<CommonPrefixes>"
                                       + el("Prefix", enc(p))
                                       + "</CommonPrefixes>").join("")
            + (urlEncode ? el("EncodingType", "url") : "")
            + "</ListMultipartUploadsResult>");
    }

    async function abort(ctx, bucket, key) {
        const upload = await mustUpload(ctx, bucket, key,
                                        ctx.query.uploadId);
        await fs.rm(upload.dir, { recursive: true, force: true });
        ctx.status = 204;
        ctx.body = null;
    }

    async function checkPart(ctx, bucket, key) {
        await mustUpload(ctx, bucket, key, ctx.query.uploadId);
        // (no leading zeros: s3rver names the part's file after it)
        const n = ctx.query.partNumber;
        if (!/^[1-9][0-9]*$/.test(n || "")
            || Number(n) > 10000)
        {
            throw s3error("InvalidArgument", {
                ArgumentName: "partNumber", ArgumentValue: n,
            }, "Part number must be an integer between 1 and 10000, "
               + "inclusive");
        }
    }

    async function readBody(ctx) {
        const chunks = [];
        let len = 0;
        for await (const chunk of ctx.req) {
            len += chunk.length;
            if (len > COMPLETE_BODY_MAX) {
                throw s3error("MalformedXML");
            }
            chunks.push(chunk);
        }
        return Buffer.concat(chunks);
    }

    // The test hook's error code for this Complete, or null.
    async function injectedError(bucket) {
        if (process.env.VIDSTREAM_S3_COMPLETE_ERROR) {
            return process.env.VIDSTREAM_S3_COMPLETE_ERROR;
        }
        let text;
        try {
            const obj = await store.getObject(bucket, COMPLETE_ERROR_KEY);
            if (!obj) {
                return null;
            }
            const chunks = [];
            for await (const chunk of obj.content) {
                chunks.push(chunk);
            }
            text = Buffer.concat(chunks).toString("utf8").trim();
        } catch (err) {
            if (err.code === "ENOENT" || err.code === "NoSuchKey") {
                return null;
            }
            throw err;
        }
        const [code = "InternalError", count = "1"] = text.split(/\s+/);
        const left = Number(count) - 1;
        if (left > 0) {
            await store.putObject(new S3Object(bucket, COMPLETE_ERROR_KEY,
                Buffer.from(`${code} ${left}\n`),
                { "content-type": "text/plain" }));
        } else {
            await store.deleteObject(bucket, COMPLETE_ERROR_KEY);
        }
        return code || "InternalError";
    }

    async function complete(ctx, bucket, key, next) {
        const upload = await mustUpload(ctx, bucket, key,
                                        ctx.query.uploadId);
        const body = await readBody(ctx);
        const text = body.toString("utf8");

        if (xmlParser.validate(text) !== true) {
            throw s3error("MalformedXML");
        }
        const doc = xmlParser.parse(text, {
            tagValueProcessor: (a) => he.decode(a),
        });
        const requested = doc.CompleteMultipartUpload
            && doc.CompleteMultipartUpload.Part;
        if (!requested) {
            throw s3error("MalformedXML");
        }
        const list = [].concat(requested).map((p) => ({
            number: Number(p.PartNumber),
            etag: String(p.ETag === undefined ? "" : p.ETag)
                .replace(/"/g, ""),
        }));

        for (let i = 0; i < list.length; i++) {
            if (!Number.isInteger(list[i].number) || list[i].number < 1
                || list[i].number > 10000)
            {
                throw s3error("MalformedXML");
            }
            if (i > 0 && list[i].number <= list[i - 1].number) {
                throw s3error("InvalidPartOrder");
            }
        }

        const stored = new Map((await readParts(upload))
            .map((p) => [p.number, p]));
        for (const p of list) {
            const s = stored.get(p.number);
            if (!s || s.md5 !== p.etag) {
                throw s3error("InvalidPart", {
                    UploadId: upload.id, ETag: p.etag,
                    PartNumber: p.number,
                });
            }
        }
        for (let i = 0; i < list.length - 1; i++) {
            const size = stored.get(list[i].number).size;
            if (size < PART_MIN) {
                throw s3error("EntityTooSmall", {
                    ProposedSize: size, MinSizeAllowed: PART_MIN,
                    PartNumber: list[i].number, ETag: list[i].etag,
                });
            }
        }

        const code = await injectedError(bucket);
        if (code) {
            // as S3: the status at once, whitespace, then the error
            ctx.status = 200;
            ctx.type = "application/xml";
            ctx.body = Readable.from((async function* () {
                yield '<?xml version="1.0" encoding="UTF-8"?>\n';
                await new Promise((r) => setTimeout(r, 50));
                yield "\n        \n";
                yield "<Error>" + el("Code", code)
                    + el("Message", MESSAGES[code] || code)
                    + el("RequestId", "0000000000000000")
                    + el("HostId", "vidstream-local") + "</Error>";
            })());
            return;
        }

        // s3rver reads the request body again: hand it the bytes read
        ctx.req = Readable.from([body]);
        await next();
    }

    async function multipart(ctx, next) {
        const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
        if (!m) {
            return next();
        }
        const bucket = decodeURIComponent(m[1]);
        const key = m[2] ? decodeURIComponent(m[2]) : "";
        const q = ctx.query;
        let op = null;

        if (!key) {
            if (ctx.method === "GET" && "uploads" in q) {
                op = () => listUploads(ctx, bucket);
            }
        } else if ("uploadId" in q && !("uploads" in q)) {
            switch (ctx.method) {
            case "GET":
                op = () => listParts(ctx, bucket, key);
                break;
            case "DELETE":
                op = () => abort(ctx, bucket, key);
                break;
            case "PUT":
                if (!("x-amz-copy-source" in ctx.headers)) {
                    op = async () => {
                        await checkPart(ctx, bucket, key);
                        return next();
                    };
                }
                break;
            case "POST":
                op = () => complete(ctx, bucket, key, next);
                break;
            default:
                break;
            }
        }

        if (!op) {
            return next();
        }

        ctx.params = { ...(ctx.params || {}), bucket, key };
        await auth(ctx, async () => {});
        if (!(await store.getBucket(bucket))) {
            throw s3error("NoSuchBucket", { BucketName: bucket },
                          "The specified bucket does not exist");
        }
        return op();
    }

    // UploadPart.  s3rver writes each part to a file of its own, so that
    // its Complete must copy every byte again into the object (and it did
    // so 64 KiB at a time through JS, MD5ing the whole object again: 5 s
    // of one core for 1 GiB).  Here a part with a Content-Length goes
    // where it will be in the object when all parts but the last have the
    // same size (S3 clients' way, and the contract's): into one file
    // "data" of the upload at (N - 1) * stride, the stride being the size
    // of the first part received; "N.at" records offset and size, "N.md5"
    // its MD5 as s3rver's do.  A part larger than the stride (or of
    // unknown length) is stored by s3rver as before, in "N".  A part sent
    // again is removed first (a failed re-send leaves it missing, never
    // half-written under the old MD5).
    const putPartFile = store.putPart.bind(store);
    const DATA_MAX = 2 ** 43;           // 8 TiB: within ext4's file size

    // The stride: written once, whole (a temporary file linked to
    // "stride", which fails if another part got there first), so that no
    // reader, in this process or another one of the emulator's, sees it
    // empty.  A part's small files are written and read synchronously, as
    // in partAt() below.
    function strideOf(dir, len) {
        const file = path.join(dir, "stride");
        const tmp = `${file}.${process.pid}.${crypto.randomUUID()}`;
        fsSync.writeFileSync(tmp, String(len));
        try {
            fsSync.linkSync(tmp, file);
            return len;
        } catch (err) {
            if (err.code !== "EEXIST") {
                throw err;
            }
            return Number(fsSync.readFileSync(file, "utf8")) || 0;
        } finally {
            fsSync.rmSync(tmp, { force: true });
        }
    }

    store.putPart = async (bucket, uploadId, partNumber, content) => {
        const dir = path.join(uploadsDir(bucket), uploadId);
        const n = Number(partNumber);
        const len = Number((content.headers || {})["content-length"]);
        const stride = Number.isSafeInteger(len) && len > 0
            ? strideOf(dir, len) : 0;
        const offset = (n - 1) * stride;
        for (const f of [`${n}.md5`, `${n}.at`, String(n)]) {
            fsSync.rmSync(path.join(dir, f), { force: true });
        }
        if (!stride || len > stride || offset + len > DATA_MAX) {
            return putPartFile(bucket, uploadId, partNumber, content);
        }

        const data = path.join(dir, "data");
        fsSync.closeSync(fsSync.openSync(data, "a"));
        const md5 = crypto.createHash("md5");
        let size = 0;
        await pipeline(content, new Transform({
            transform(chunk, encoding, callback) {
                md5.update(chunk);
                size += chunk.length;
                callback(null, chunk);
            },
        }), fsSync.createWriteStream(data, { flags: "r+", start: offset }));
        // (the stream as s3rver's PutObject writes: neither path is given
        // an edge the other lacks when they are compared)
        if (size !== len) {
            throw new Error(`part ${n}: ${size} bytes of ${len}`);
        }
        const hex = md5.digest("hex");
        fsSync.writeFileSync(path.join(dir, `${n}.at`),
                             JSON.stringify({ offset, size }));
        fsSync.writeFileSync(path.join(dir, `${n}.md5`), hex);
        return { size, md5: hex };
    };

    // CompleteMultipartUpload's assembly (s3rver's putObjectMultipart).
    // When the parts listed lie end to end in "data" from its start (all
    // of the same size but the last, numbered from 1), "data" cut at their
    // end is the object: renamed, no byte copied.  Otherwise the parts
    // are copied into a new file, 4 MiB at a time (no per-byte JS work).
    // The ETag is S3's for a multipart object: the MD5 of the parts'
    // binary MD5s, "-" and their count.  s3rver's metadata.json (the
    // Create's headers it keeps) and object.md5 (its ETag) are written
    // first, so a HEAD or GET that follows never finds an object without
    // them (s3rver would MD5 the object itself and write that).
    async function copyRange(src, offset, size, out) {
        const fh = await fs.open(src, "r");
        try {
            const buf = Buffer.allocUnsafe(Math.max(1, Math.min(size,
                                                                4 << 20)));
            for (let done = 0; done < size;) {
                const { bytesRead } = await fh.read(
                    buf, 0, Math.min(buf.length, size - done),
                    offset + done);
                if (!bytesRead) {
                    throw new Error(`${src}: ${done} bytes of ${size}`);
                }
                await out.write(buf, 0, bytesRead);
                done += bytesRead;
            }
        } finally {
            await fh.close();
        }
    }

    async function assemble(bucket, uploadId, parts) {
        const dir = path.join(uploadsDir(bucket), uploadId);
        const [key, metadata] = await Promise.all([
            fs.readFile(path.join(dir, "key"), "utf8"),
            fs.readFile(path.join(dir, "metadata"), "utf8").then(JSON.parse),
        ]);
        const numbers = parts.map((p) => p.number).sort((a, b) => a - b);
        // (synchronously, as readParts)
        const md5s = numbers.map((n) =>
            fsSync.readFileSync(path.join(dir, `${n}.md5`), "utf8"));
        const where = numbers.map((n) => partAt(dir, n));
        const etag = crypto.createHash("md5")
            .update(Buffer.concat(md5s.map((m) => Buffer.from(m.trim(),
                                                              "hex"))))
            .digest("hex") + `-${numbers.length}`;

        let size = 0;
        let inPlace = true;
        for (const p of where) {
            inPlace = inPlace && p.inData && p.offset === size;
            size += p.size;
        }
        const assembled = path.join(dir, "assembled");
        if (inPlace) {
            await fs.truncate(path.join(dir, "data"), size);
            await fs.rename(path.join(dir, "data"), assembled);
        } else {
            const out = await fs.open(assembled, "w");
            try {
                for (const p of where) {
                    await copyRange(p.file, p.offset, p.size, out);
                }
            } finally {
                await out.close();
            }
        }
        const objectPath = store.getResourcePath(bucket, key, "object");
        await fs.mkdir(path.dirname(objectPath), { recursive: true });
        // (S3Object: s3rver's own pick of the headers it keeps)
        await store.putMetadata(bucket, key,
                                new S3Object(bucket, key, null,
                                             metadata).metadata, etag);
        await fs.rename(assembled, objectPath);
        // the upload is gone at once (a name readUpload never takes), its
        // parts' files are removed after the answer, as S3 frees them
        const gone = path.join(uploadsDir(bucket), `.${uploadId}.done`);
        await fs.rename(dir, gone);
        fs.rm(gone, { recursive: true, force: true }).catch((err) => {
            console.error(`rm ${gone}: ${err.message}`);
        });
        return { size, md5: etag };
    }
    store.putObjectMultipart = assemble;

    // before s3rver's router, after its logger, XML encoder and vhost
    const mw = server.middleware;
    if (!mw.length || mw[mw.length - 1].name !== "dispatch") {
        throw new Error("s3rver: its router is not the last middleware");
    }
    mw.splice(mw.length - 1, 0, multipart);
}
