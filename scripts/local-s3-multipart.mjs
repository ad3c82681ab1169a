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
// fails with a 500.  This Koa middleware runs before s3rver's router:
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
//                                     replaced: see assemble() below
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
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";

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

    // The stored parts of an upload, by number; a part still being written
    // (no .md5 yet) is not there.
    async function readParts(upload) {
        const names = await fs.readdir(upload.dir);
        const parts = [];
        for (const name of names) {
            if (!/^[1-9][0-9]*$/.test(name)) {
                continue;
            }
            try {
                const file = path.join(upload.dir, name);
                const [md5, st] = await Promise.all([
                    fs.readFile(`${file}.md5`, "utf8"), fs.stat(file),
                ]);
                parts.push({ number: Number(name), md5: md5.trim(),
                             size: st.size, modified: st.mtime });
            } catch (err) {
                if (err.code !== "ENOENT") {
                    throw err;
                }
            }
        }
        return parts.sort((a, b) => a.number - b.number);
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

    // s3rver's Complete (store.putObjectMultipart) pipes the parts through
    // JS 64 KiB at a time and MD5s the whole object again: 5 s of one
    // core for 1 GiB, and an ETag S3 would not give.  Here the kernel
    // copies the parts (cat: copy_file_range, page cache to page cache)
    // into a file of the upload's directory, renamed over the object, and
    // the ETag is S3's for a multipart object: the MD5 of the parts'
    // binary MD5s, "-" and their count.  s3rver's metadata.json (the
    // Create's headers it keeps) and object.md5 (its ETag) are written
    // first, so a HEAD or GET that follows never finds an object without
    // them (s3rver would MD5 the object itself and write that).
    async function concatFiles(dir, names, out) {
        const fd = await fs.open(out, "w");
        try {
            await new Promise((resolve, reject) => {
                const child = spawn("cat", ["--", ...names], {
                    cwd: dir, stdio: ["ignore", fd.fd, "pipe"],
                });
                let err = "";
                child.stderr.on("data", (d) => { err += d; });
                child.on("error", reject);
                child.on("close", (code, signal) => (code === 0 ? resolve()
                    : reject(new Error(`cat: ${signal || code} ${err}`))));
            });
        } finally {
            await fd.close();
        }
    }

    async function assemble(bucket, uploadId, parts) {
        const dir = path.join(uploadsDir(bucket), uploadId);
        const [key, metadata] = await Promise.all([
            fs.readFile(path.join(dir, "key"), "utf8"),
            fs.readFile(path.join(dir, "metadata"), "utf8").then(JSON.parse),
        ]);
        const numbers = parts.map((p) => p.number).sort((a, b) => a - b);
        const md5s = await Promise.all(numbers.map((n) =>
            fs.readFile(path.join(dir, `${n}.md5`), "utf8")));
        const etag = crypto.createHash("md5")
            .update(Buffer.concat(md5s.map((m) => Buffer.from(m.trim(),
                                                              "hex"))))
            .digest("hex") + `-${numbers.length}`;

        const assembled = path.join(dir, "assembled");
        await concatFiles(dir, numbers.map(String), assembled);
        const { size } = await fs.stat(assembled);
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
