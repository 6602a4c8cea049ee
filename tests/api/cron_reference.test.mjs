// cron_reference.test.mjs — conway's heartbeat schedule against an
// independent implementation: for thousands of random cron expressions and
// time zones, the next run times `conway cron next --batch` prints equal
// those of the npm package croner.
//
// Where the two are defined differently, the comparison stays honest by
// staying out, and the unit tests (tests/unit/test_cron.c) cover conway's
// side against healthchecks' rules instead:
//  - daylight-saving transitions: conway follows Debian cron / cronsim (a
//    fixed-time job in a skipped hour runs right after the jump, a repeated
//    hour runs it once), croner does not. A run is compared only when the
//    zone's UTC offset did not change between the previous run and it; the
//    rest of that expression's runs are then left out.
//  - day-of-month and day-of-week: Debian ANDs them when either field starts
//    with '*', croner only when one is exactly '*'; generated day fields are
//    either exactly '*' or do not start with '*'.
//  - "LW" and "nL" have no croner spelling but "n#L"; "LW" is not generated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { conway } from './helpers.mjs';

const ZONES = [
  'UTC', 'America/New_York', 'Europe/Berlin', 'Europe/London', 'Australia/Sydney',
  'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'Asia/Tokyo', 'Pacific/Chatham',
  'America/St_Johns', 'Africa/Casablanca', 'America/Sao_Paulo', 'Asia/Kathmandu',
  'Pacific/Auckland', 'America/Los_Angeles', 'Europe/Moscow', 'Asia/Tehran',
];
const MONTHS = 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC'.split(' ');
const DAYS = 'SUN MON TUE WED THU FRI SAT'.split(' ');

// A small seeded generator, so a failure can be reproduced.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(rand, n) {
  const int = (a, b) => a + Math.floor(rand() * (b - a + 1));
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  // one field; starStep: whether "*/n" may appear (not for day fields)
  function field(lo, hi, names, starStep, special) {
    const r = rand();
    const val = () => {
      const v = int(lo, hi);
      if (names && rand() < 0.3) return names[(v - (lo === 1 ? 1 : 0)) % names.length];
      return String(v);
    };
    if (r < 0.25) return '*';
    if (r < 0.4 && starStep) return `*/${int(1, Math.min(20, hi - lo))}`;
    if (r < 0.55) {
      const a = int(lo, hi);
      const b = int(a, hi);
      // croner wants a step no wider than the range
      return rand() < 0.4 && b > a ? `${a}-${b}/${int(1, Math.min(10, b - a))}` : `${a}-${b}`;
    }
    if (r < 0.7) return Array.from({ length: int(2, 4) }, val).join(',');
    if (special && r < 0.8) return special();
    return val();
  }
  const out = [];
  while (out.length < n) {
    const minute = field(0, 59, null, true);
    const hour = field(0, 23, null, true);
    const dom = field(1, 31, null, false, () => 'L');
    const month = field(1, 12, MONTHS, true);
    const dow = field(0, 6, DAYS, false, () =>
      rand() < 0.5 ? `${int(0, 6)}L` : `${pick(DAYS)}#${int(1, 4)}`);
    const zone = pick(ZONES);
    const after = int(946684800, 2114380800); // 2000 .. 2037
    out.push({ expr: `${minute} ${hour} ${dom} ${month} ${dow}`, zone, after });
  }
  return out;
}

// croner's spelling of the same expression
const cronerExpr = (expr) =>
  expr.split(' ').map((f, i) => (i === 4 ? f.replace(/^(\d)L$/, '$1#L') : f)).join(' ');

// UTC offset of zone at instant ms, in minutes, from the platform's tz data.
const fmtCache = new Map();
function offsetMinutes(zone, ms) {
  let f = fmtCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    fmtCache.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

// Whether the zone's offset is the same over (a, b]: sampled every 6 hours
// (transitions are months apart), and at both ends.
function steady(zone, a, b) {
  const o = offsetMinutes(zone, a);
  if (offsetMinutes(zone, b) !== o) return false;
  if (b - a > 800 * 86400000) return false; // too long to sample: leave it out
  for (let t = a + 6 * 3600000; t < b; t += 6 * 3600000) if (offsetMinutes(zone, t) !== o) return false;
  return true;
}

// The months a (generated) month field selects: numbers, names, ranges,
// steps and lists.
function monthsOf(field) {
  const num = (t) => (MONTHS.includes(t) ? MONTHS.indexOf(t) + 1 : +t);
  const set = new Set();
  for (const term of field.split(',')) {
    const [range, step] = term.split('/');
    let [a, b] = range === '*' ? [1, 12] : range.split('-').map(num);
    if (b === undefined) b = step ? 12 : a;
    for (let m = a; m <= b; m += step ? +step : 1) set.add(m);
  }
  return [...set];
}

const RUNS = 5;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

test('next run times equal croner\'s for random expressions and zones', () => {
  const cases = generate(rng(20261206), 4000);
  const input = cases.map((c) => `${c.expr}\t${c.zone}\t${iso(c.after * 1000)}\t${RUNS}\n`).join('');
  const res = conway(['cron', 'next', '--batch'], { input });
  const lines = res.stdout.split('\n');
  assert.equal(lines.length, cases.length + 1, res.stderr);
  let compared = 0, skippedDst = 0, refused = 0, rejectedByBoth = 0, byRule = 0;
  const mismatches = [];
  cases.forEach((c, i) => {
    const got = lines[i];
    let job;
    try {
      job = new Cron(cronerExpr(c.expr), { timezone: c.zone, legacyMode: true, paused: true });
    } catch {
      job = null;
    }
    if (got.includes('no selected month has day')) {
      // healthchecks (cronsim) refuses a day of month that no selected
      // month has, even where the day of week would still match: so does
      // conway. Check the claim independently.
      const day = +got.match(/has day (\d+)/)[1];
      const longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
      const months = monthsOf(c.expr.split(' ')[3]);
      assert.ok(months.every((m) => longest[m] < day), `${c.expr}: ${got}`);
      byRule++;
      return;
    }
    if (got.startsWith('error:')) {
      // conway refuses only what never runs in 50 years (or bad syntax)
      refused++;
      const next = job && job.nextRun(new Date(c.after * 1000));
      if (!job || !next || next.getTime() > (c.after + 50 * 366 * 86400) * 1000) rejectedByBoth++;
      else mismatches.push(`${c.expr} (${c.zone}): conway refused it: ${got}`);
      return;
    }
    assert.ok(job, `croner refused "${c.expr}" that conway accepts`);
    const ours = got.split(' ');
    let prev = c.after * 1000;
    for (const text of ours) {
      const theirs = job.nextRun(new Date(prev));
      if (text === 'none') break;
      const mine = Date.parse(text);
      if (!steady(c.zone, prev, Math.max(mine, theirs ? theirs.getTime() : mine))) {
        skippedDst++;
        break;
      }
      compared++;
      if (!theirs || theirs.getTime() !== mine) {
        mismatches.push(`${c.expr} (${c.zone}) after ${iso(prev)}: conway ${text}, croner ${theirs && iso(theirs.getTime())}`);
        break;
      }
      prev = mine;
    }
  });
  assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} mismatches`);
  assert.equal(refused, rejectedByBoth);
  // the comparison must cover most of the runs, not only the easy ones
  assert.ok(compared >= cases.length * RUNS * 0.6, `only ${compared} runs compared`);
  assert.ok(byRule < cases.length * 0.02, `${byRule} refused for their day of month`);
  console.log(`cron reference: ${cases.length} expressions, ${compared} runs equal, ` +
    `${skippedDst} expressions left at a DST change, ${refused} never run, ` +
    `${byRule} refused for a day no selected month has`);
});
