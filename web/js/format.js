// Numbers for people: sizes, rates, durations, dates.

export function bytes(n) {
    if (!Number.isFinite(n)) return "";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return i === 0 ? `${n} ${n === 1 ? "byte" : "bytes"}`
                   : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export function rate(bytesPerSecond) {
    return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0
        ? `${bytes(bytesPerSecond)}/s` : "";
}

// 75 -> "1:15", 3725 -> "1:02:05"
export function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function eta(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) return "";
    if (seconds < 1) return "less than a second left";
    if (seconds < 90) return `${Math.round(seconds)} s left`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min left`;
    return `${(seconds / 3600).toFixed(1)} h left`;
}

export function date(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(undefined, {
        dateStyle: "medium", timeStyle: "short",
    });
}
