// node scripts/jwks.mjs KEY.pem OUT.json: writes the JWKS (one RS256
// signing key) for the private key's public half and prints its kid, the
// RFC 7638 thumbprint, as Cognito's kids are opaque strings too.
import { createPrivateKey, createPublicKey, createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const [keyPath, outPath] = process.argv.slice(2);
const pub = createPublicKey(createPrivateKey(readFileSync(keyPath)));
const jwk = pub.export({ format: "jwk" });
const kid = createHash("sha256")
    .update(JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n }))
    .digest("base64url");
writeFileSync(outPath, JSON.stringify({
    keys: [{ alg: "RS256", e: jwk.e, kid, kty: "RSA", n: jwk.n, use: "sig" }],
}, null, 2) + "\n");
console.log(kid);
