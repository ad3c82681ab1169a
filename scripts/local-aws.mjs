// Local AWS emulators for the vidstream stack, bound to 127.0.0.1 only.
//
//   node scripts/local-aws.mjs s3  PORT DIR BUCKET
//   node scripts/local-aws.mjs sqs PORT QUEUE DLQ MAX_RECEIVE
//
// S3 is s3rver (path-style, any size, ranges), with the multipart calls it
// lacks or gets wrong made to behave as S3's (local-s3-multipart.mjs, also
// a test hook for a CompleteMultipartUpload answered 200 with <Error>);
// SQS is fauxqs (JSON protocol).  fauxqs' own CLI listens on 0.0.0.0, so it
// is started here from its exported buildApp().  Once ready, prints one JSON line with
// what it created, then serves until SIGTERM.
import cluster from "node:cluster";
import { createRequire } from "node:module";
import os from "node:os";
import { pathToFileURL } from "node:url";
import path from "node:path";

import { addMultipart } from "./local-s3-multipart.mjs";

const depsDir = process.env.VIDSTREAM_NODE_DIR
    || path.join(path.dirname(new URL(import.meta.url).pathname), "..",
                 ".deps", "node");
const require = createRequire(path.join(depsDir, "package.json"));

const [kind, portArg, ...rest] = process.argv.slice(2);
const port = Number(portArg);

async function sqsCall(target, body) {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        headers: {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": `AmazonSQS.${target}`,
            // fauxqs takes the region from the credential scope
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/"
                + (process.env.AWS_REGION || "us-east-1")
                + "/sqs/aws4_request, SignedHeaders=host, Signature=0",
        },
        body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
        throw new Error(`${target}: ${res.status} ${text}`);
    }
    return JSON.parse(text || "{}");
}

// s3rver deletes the keys of one DeleteObjects at once, and each delete
// removes the folders it emptied: two racing on one folder (an HLS
// rendition's segments) fail with ENOENT or ENOTEMPTY and the whole request
// answers 500, which S3 never does.  One delete at a time in a process,
// and a folder already gone (or filled again: a delete in another of the
// emulator's processes, below) is no error.
function serializeDeletes(store) {
    const del = store.deleteObject.bind(store);
    let chain = Promise.resolve();
    store.deleteObject = (bucket, key) => {
        const run = chain.then(() => del(bucket, key).catch((err) => {
            if (err.code !== "ENOENT" && err.code !== "ENOTEMPTY") {
                throw err;
            }
        }));
        chain = run.catch(() => {});
        return run;
    };
}

// S3 serves requests in parallel; one s3rver is one thread, so that N
// parts PUT at once would share one core (and a single PUT would not).
// The S3 emulator is VIDSTREAM_S3_PROCESSES processes (default: one per
// core, at most 4) sharing the port through node's cluster module; every
// one of them keeps its state in the directory, as s3rver does.  The
// primary (the PID the stack keeps) prints the ready line once all
// listen; SIGTERM to it stops them all, and one that dies takes the
// others down (the stack sees the S3 gone).
function s3Processes() {
    const n = Number(process.env.VIDSTREAM_S3_PROCESSES);
    if (Number.isInteger(n) && n >= 1) {
        return n;
    }
    return Math.max(1, Math.min(4, os.availableParallelism()));
}

async function s3Primary(procs, ready) {
    let stopping = false;
    const workers = Array.from({ length: procs }, () => cluster.fork());
    cluster.on("exit", (worker, code, signal) => {
        if (!stopping) {
            console.error(`s3 process ${worker.process.pid} ended `
                          + `(${signal || code}): stopping`);
            stopping = true;
            for (const w of workers) {
                w.process.kill("SIGTERM");
            }
            process.exitCode = 1;
        }
    });
    await Promise.all(workers.map((w) => new Promise((resolve) => {
        w.on("message", (m) => m === "ready" && resolve());
    })));
    console.log(ready);
    process.on("SIGTERM", () => {
        stopping = true;
        let left = workers.length;
        for (const w of workers) {
            w.once("exit", () => --left || process.exit(0));
            w.process.kill("SIGTERM");
        }
    });
}

async function main() {
    if (kind === "s3") {
        const [dir, bucket] = rest;
        const ready = JSON.stringify({ s3: `http://127.0.0.1:${port}`,
                                       bucket });
        const procs = s3Processes();
        if (cluster.isPrimary && procs > 1) {
            return s3Primary(procs, ready);
        }
        const S3rver = require("s3rver");
        const server = new S3rver({
            address: "127.0.0.1", port, directory: dir, silent: true,
            configureBuckets: [{ name: bucket }],
        });
        addMultipart(server, require);
        serializeDeletes(server.store);
        await server.run();
        if (cluster.isWorker) {
            process.send("ready");
        } else {
            console.log(ready);
        }
        process.on("SIGTERM", () => server.close().then(() => process.exit(0)));

    } else if (kind === "sqs") {
        const [queue, dlq, maxReceive] = rest;
        const appPath = path.join(depsDir, "node_modules", "fauxqs", "dist",
                                  "app.js");
        const { buildApp } = await import(pathToFileURL(appPath).href);
        // no "host" option: queue URLs then follow the Host of the request,
        // http://127.0.0.1:PORT/000000000000/NAME
        const app = buildApp({ logger: false });
        await app.listen({ port, host: "127.0.0.1" });

        const d = await sqsCall("CreateQueue", { QueueName: dlq });
        const attrs = await sqsCall("GetQueueAttributes", {
            QueueUrl: d.QueueUrl, AttributeNames: ["QueueArn"],
        });
        const q = await sqsCall("CreateQueue", {
            QueueName: queue,
            Attributes: {
                VisibilityTimeout: "60",
                RedrivePolicy: JSON.stringify({
                    deadLetterTargetArn: attrs.Attributes.QueueArn,
                    maxReceiveCount: String(maxReceive),
                }),
            },
        });
        console.log(JSON.stringify({ queue_url: q.QueueUrl,
                                     dlq_url: d.QueueUrl }));
        process.on("SIGTERM", () => app.close().then(() => process.exit(0)));

    } else {
        throw new Error(`unknown emulator: ${kind}`);
    }
}

main().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
