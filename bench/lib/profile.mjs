// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function (callFrame) and per package.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

function where(url, root) {
  if (!url) return '';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  return path.startsWith(root) ? relative(root, path) : path;
}

/** The package or area a frame belongs to: node_modules/<pkg>, node:internal, dist/libs/<lib>, or a V8 pseudo-frame. */
function area(file, functionName) {
  if (!file) return functionName.startsWith('(') ? functionName : '(native/V8)';
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith('node:')) return 'node (core)';
  const lib = /^dist\/(libs|apps)\/([^/]+)/.exec(file);
  if (lib) return `xrouter ${lib[1]}/${lib[2]}`;
  return file;
}

/**
 * `window` = [fromUs, toUs] on the monotonic clock (process.hrtime.bigint() / 1000 in any process of the machine:
 * V8's profiler clock is CLOCK_MONOTONIC too): only samples inside it count, so start-up and idle time before and
 * after the load are left out. When no sample falls inside (a clock mismatch), the whole profile is used.
 */
export function summariseProfile(file, root, top = 15, window = null) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const { samples, timeDeltas } = profile;
  const pick = (useWindow) => {
    const self = new Map();
    let t = profile.startTime;
    let count = 0;
    // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
    for (let i = 0; i < samples.length; i++) {
      const delta = Math.max(0, timeDeltas[i] ?? 0);
      t += delta;
      if (useWindow && (t < window[0] || t > window[1])) continue;
      count++;
      self.set(samples[i], (self.get(samples[i]) ?? 0) + delta);
    }
    return { self, count };
  };
  let { self: selfUs, count } = pick(Boolean(window));
  const windowed = Boolean(window) && count > 0;
  if (window && count === 0) ({ self: selfUs } = pick(false));
  // Inclusive time per area: a sample counts once for every area on its stack.
  const areaOfNode = new Map();
  const areaOf = (id) => {
    if (!areaOfNode.has(id)) {
      const frame = byId.get(id).callFrame;
      areaOfNode.set(id, area(where(frame.url, root), frame.functionName || '(anonymous)'));
    }
    return areaOfNode.get(id);
  };
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let node = id; node !== undefined; node = parent.get(node)) seen.add(areaOf(node));
    for (const a of seen) inclusive.set(a, (inclusive.get(a) ?? 0) + us);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const functions = new Map();
  const areas = new Map();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    const file = where(frame.url, root);
    const key = `${name}\u0000${file}\u0000${frame.lineNumber}`;
    const entry = functions.get(key) ?? {
      function: name,
      location: file ? `${file}:${frame.lineNumber + 1}` : '',
      selfUs: 0,
    };
    entry.selfUs += us;
    functions.set(key, entry);
    const a = area(file, name);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / totalUs) * 1000) / 10;
  const ranked = [...functions.values()].sort((a, b) => b.selfUs - a.selfUs);
  const idle = ranked.find((f) => f.function === '(idle)')?.selfUs ?? 0;
  const busyUs = totalUs - (ranked.find((f) => f.function === '(idle)')?.selfUs ?? 0);
  const busyPct = (us) => Math.round((us / busyUs) * 1000) / 10;
  return {
    file,
    windowed,
    totalMs: Math.round(totalUs / 1000),
    idlePct: pct(idle),
    topFunctions: ranked
      .filter((f) => f.function !== '(idle)')
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: Math.round(f.selfUs / 1000), selfPct: pct(f.selfUs) })),
    topAreas: [...areas.entries()]
      .filter(([a]) => a !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ area: name, selfMs: Math.round(us / 1000), selfPct: pct(us) })),
    /** Share of the busy (non-idle) time spent with the area anywhere on the stack. */
    inclusiveAreas: [...inclusive.entries()]
      .filter(([a]) => !['(idle)', '(root)', 'node (core)', '(native/V8)', '(program)'].includes(a))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ area: name, pctOfBusy: busyPct(us) })),
  };
}
