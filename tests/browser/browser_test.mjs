// Real-browser test of genre-serve's web page: starts the server, drives Debian's headless
// Chromium through playwright-core, checks the pages and what they show, takes screenshots.
//
//   node tests/browser/browser_test.mjs --server PATH/genre-serve --sample PATH/to.flac \
//        --expect-genre jazz --out DIR [--model PATH] [--web DIR]
//
// --web DIR serves the page's files (/, /how-it-works, /<file>) from DIR, e.g. web/, instead of the
// copies compiled into the server, with the server's CSP header: for working on web/ without a
// rebuild. The API still goes to the server.
// --server may also name a Node script (*.mjs / *.js; e.g. tests/browser/mock_server.mjs).
// Exit: 0 passed; 1 failed; 77 skipped (playwright-core not installed — `npm ci` in
// tests/browser — or no /usr/bin/chromium), unless GENRE_REQUIRE_BROWSER=1 makes that a failure.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const GLOBAL_TIMEOUT_MS = 120_000;
let checks = 0;
let server = null;
let browser = null;
let finished = false;

function usage(msg) {
  console.error(`browser test: ${msg}\nusage: node browser_test.mjs --server PATH --sample FILE --expect-genre GENRE --out DIR [--model PATH] [--web DIR]`);
  process.exit(2);
}
function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = { '--server': 'server', '--sample': 'sample', '--expect-genre': 'genre', '--out': 'out', '--model': 'model', '--web': 'web' }[a];
    if (!key) usage(`unknown argument ${a}`);
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    o[key] = argv[++i];
  }
  for (const k of ['server', 'sample', 'genre', 'out']) if (!o[k]) usage(`missing --${k === 'genre' ? 'expect-genre' : k}`);
  return o;
}

class Failure extends Error {}
function check(cond, what) {
  if (!cond) throw new Failure(what);
  checks++;
}
async function cleanup() {
  if (browser) { try { await browser.close(); } catch { /* already gone */ } browser = null; }
  if (server && server.exitCode === null && server.signalCode === null) { try { server.kill('SIGKILL'); } catch { /* gone */ } }
}
async function fail(msg) {
  if (finished) return;
  finished = true;
  console.log(`browser test: FAIL: ${String(msg).split('\n')[0]}`);
  await cleanup();
  process.exit(1);
}
function skip(msg) {
  if (process.env.GENRE_REQUIRE_BROWSER === '1') {
    console.log(`browser test: FAIL: ${msg} (GENRE_REQUIRE_BROWSER=1)`);
    process.exit(1);
  }
  console.log(`browser test: skipped: ${msg}`);
  process.exit(77);
}

// ---- the server ------------------------------------------------------------------------------
function startServer(opts) {
  const args = ['--port', '0'];
  if (opts.model) args.push('-m', opts.model);
  const isScript = /\.(mjs|cjs|js)$/.test(opts.server);
  const cmd = isScript ? process.execPath : opts.server;
  const argv = isScript ? [opts.server, ...args] : args;
  server = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let found = false;
    const timer = setTimeout(() => reject(new Failure('the server printed no "listening on" line within 30 s')), 30_000);
    server.on('error', (e) => { clearTimeout(timer); reject(new Failure(`cannot start ${opts.server}: ${e.message}`)); });
    server.on('exit', (code, sig) => {
      if (!found) { clearTimeout(timer); reject(new Failure(`the server exited (code ${code}, signal ${sig}) before listening`)); }
    });
    server.stdout.setEncoding('utf8');
    server.stdout.on('data', (d) => {
      if (found) { process.stdout.write(d.replace(/^/gm, '[server] ')); return; }
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const first = buf.slice(0, nl).trim();
      const m = /^genre-serve: listening on (https?:\/\/[^\s/]+)\/?(?:\s.*)?$/.exec(first);
      clearTimeout(timer);
      if (!m) { reject(new Failure(`the server's first line is not "genre-serve: listening on URL": ${JSON.stringify(first)}`)); return; }
      found = true;
      resolve(m[1]);
    });
  });
}
function stopServer() {
  return new Promise((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) { resolve({ code: server.exitCode, signal: server.signalCode, early: true }); return; }
    const timer = setTimeout(() => resolve({ code: null, signal: null, timeout: true }), 10_000);
    server.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    server.kill('SIGTERM');
  });
}

// ---- the page --------------------------------------------------------------------------------
const pct1 = (c) => `${(c * 100).toFixed(1)} %`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    skip('playwright-core cannot be imported (run "npm ci" in tests/browser)');
  }
  if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing (apt-get install chromium)`);
  if (!existsSync(opts.sample)) usage(`no sample file ${opts.sample}`);
  mkdirSync(opts.out, { recursive: true });
  const sample = path.resolve(opts.sample);
  const sampleBytes = readFileSync(sample);

  const base = await startServer(opts);
  console.log(`browser test: server at ${base}`);

  // What the API says, asked directly: the page must show the same.
  const model = await (await fetch(`${base}/api/model`)).json();
  check(Array.isArray(model.genres) && model.genres.length > 0, 'GET /api/model has no genres');
  const genres = model.genres;
  const form = new FormData();
  form.append('file', new Blob([sampleBytes]), path.basename(sample));
  const apiRes = await fetch(`${base}/api/classify?top=10&timeline=1&picture=1`, { method: 'POST', body: form });
  check(apiRes.status === 200, `POST /api/classify of the sample answered HTTP ${apiRes.status}`);
  const api = await apiRes.json();
  check(Array.isArray(api.top) && api.top.length > 0, 'the API answer has no "top"');
  check(api.top[0].genre === opts.genre, `the API says ${api.top[0].genre}, not ${opts.genre}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(30_000);
  // CSP violations become console errors, so the collection below sees every one of them.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || ''})`);
    });
  });
  if (opts.web) {
    const types = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    await context.route((u) => u.origin === base && !u.pathname.startsWith('/api/'), async (route) => {
      const p = new URL(route.request().url()).pathname;
      const name = p === '/' ? 'index.html' : p === '/how-it-works' ? 'how-it-works.html' : p.slice(1);
      const file = path.join(opts.web, name);
      if (name.includes('/') || !existsSync(file)) { await route.fulfill({ status: 404, body: 'not found' }); return; }
      await route.fulfill({ status: 200, body: readFileSync(file), headers: { 'Content-Type': types[name.split('.').pop()] || 'application/octet-stream',
        'Content-Security-Policy': "default-src 'self'", 'X-Content-Type-Options': 'nosniff' } });
    });
    console.log(`browser test: the page's files come from ${opts.web}`);
  }
  const problems = [];
  let expectHttpError = false; // the non-audio upload's 4xx is logged by Chromium as a console error
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = m.location() && m.location().url ? m.location().url : '';
      if (expectHttpError && /Failed to load resource/.test(m.text()) && where.includes('/api/classify')) return;
      problems.push(`console error: ${m.text()} ${where}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (expectHttpError && r.url().includes('/api/classify')) return;
      problems.push(`request failed: ${r.url()} ${r.failure() ? r.failure().errorText : ''}`);
    });
  };
  const noProblems = (when) => check(problems.length === 0, `${when}: ${problems.join(' | ')}`);

  const page = await context.newPage();
  watch(page);

  // ---- 4. the front page and a classification ----
  const resp = await page.goto(`${base}/`, { waitUntil: 'load' });
  check(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
  const csp = resp.headers()['content-security-policy'] || '';
  check(/default-src 'self'/.test(csp), `GET / has no "default-src 'self'" CSP header (got ${JSON.stringify(csp)})`);
  const h1 = (await page.textContent('h1')) || '';
  check(/what genre is this song/i.test(h1), `the <h1> is ${JSON.stringify(h1)}`);
  check(await page.getAttribute('html', 'lang') === 'en', 'the page has no lang="en"');
  await page.waitForFunction(() => document.getElementById('shell-cmd').textContent.includes(location.origin));
  checks++;

  const waitForResult = async () => {
    await page.waitForSelector('#results:not([hidden]) #bars .bar', { timeout: 60_000 });
  };
  await page.setInputFiles('#file', sample);
  await waitForResult();
  const shown = await page.evaluate(() => {
    const q = (s) => [...document.querySelectorAll(s)];
    const canvas = document.getElementById('spectrogram');
    let colours = 0;
    if (canvas.width > 1 && canvas.height > 1) {
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length && seen.size < 50; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      colours = seen.size;
    }
    return {
      bars: q('#bars .bar').length,
      genres: q('#bars .bar .bar-genre').map((e) => e.textContent.trim()),
      values: q('#bars .bar .bar-value').map((e) => e.textContent.trim()),
      verdict: document.getElementById('verdict').textContent.trim(),
      segments: q('#timeline [role="img"]').map((e) => e.getAttribute('aria-label')),
      legend: q('#legend li').length,
      canvas: [canvas.width, canvas.height],
      colours,
      rows: q('#probabilities tbody tr').length,
      status: document.getElementById('status').textContent,
      error: document.getElementById('error').hidden,
    };
  });
  const nBars = Math.min(5, genres.length);
  check(shown.bars === nBars, `${shown.bars} .bar elements, not ${nBars}`);
  check(shown.genres[0] === opts.genre, `the first bar is ${JSON.stringify(shown.genres[0])}, not ${opts.genre}`);
  check(shown.genres[0] === api.top[0].genre, `the first bar ${shown.genres[0]} is not the API's ${api.top[0].genre}`);
  const pageValue = parseFloat(shown.values[0]);
  check(/^\d+(\.\d)? %$/.test(shown.values[0]) && Math.abs(pageValue - api.top[0].confidence * 100) <= 0.05 + 1e-9,
    `the first bar says ${JSON.stringify(shown.values[0])}, the API ${pct1(api.top[0].confidence)}`);
  check(shown.verdict.length > 0 && shown.verdict.includes(opts.genre), `#verdict is ${JSON.stringify(shown.verdict)}`);
  check(shown.segments.length >= 1, '#timeline has no segment');
  check(shown.segments.every((l) => /^\d+:\d\d–\d+:\d\d \S.* \d+ %$/.test(l || '')), `timeline labels: ${shown.segments.slice(0, 3).join('; ')}`);
  check(Array.isArray(api.timeline) ? shown.segments.length === api.timeline.length : true,
    `#timeline has ${shown.segments.length} segments, the API ${api.timeline && api.timeline.length} windows`);
  check(shown.legend >= 1, 'the timeline has no legend');
  if (api.spectrogram) {
    check(shown.canvas[0] > 1 && shown.canvas[1] === api.spectrogram.bands, `#spectrogram is ${shown.canvas.join('×')}`);
    check(shown.colours > 1, '#spectrogram is drawn in a single colour');
  }
  check(shown.rows === genres.length, `#probabilities has ${shown.rows} rows, not ${genres.length}`);
  check(shown.status.includes(opts.genre), `the live region says ${JSON.stringify(shown.status)}`);
  noProblems('after the first classification');
  await page.screenshot({ path: path.join(opts.out, 'index.png'), fullPage: true });

  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 375, `at 375 px wide the page is ${overflow} px wide (scrolls sideways)`);
  await page.screenshot({ path: path.join(opts.out, 'index-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- 5. a file that is not audio, then the sample again ----
  const junk = path.join(path.resolve(opts.out), 'not-audio.bin');
  writeFileSync(junk, randomBytes(4096));
  expectHttpError = true;
  await page.setInputFiles('#file', junk);
  await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
  const errText = ((await page.textContent('#error')) || '').trim();
  check(errText.length > 0, '#error is empty after a non-audio upload');
  check(await page.getAttribute('#error', 'role') === 'alert', '#error is not role="alert"');
  check(await page.isHidden('#results'), 'the old result is still shown beside the error');
  console.log(`browser test: non-audio upload: "${errText}"`);
  await page.screenshot({ path: path.join(opts.out, 'index-error.png'), fullPage: false });
  // Drag and drop: a (non-audio) file dropped on the zone is sent too.
  const dropped = page.waitForResponse((r) => r.url().includes('/api/classify') && r.request().method() === 'POST');
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['this is not audio\n'], 'dropped.txt', { type: 'text/plain' }));
    const zone = document.getElementById('drop');
    for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  check((await dropped).status() >= 400, 'the dropped text file was not refused by the server');
  await page.waitForFunction(() => /dropped\.txt/.test(document.getElementById('error').textContent), null, { timeout: 10_000 });
  checks++;
  expectHttpError = false;
  noProblems('after the non-audio upload');

  await page.setInputFiles('#file', sample);
  await waitForResult();
  check(await page.isHidden('#error'), '#error is still shown after a good upload');
  check((await page.textContent('#bars .bar .bar-genre')).trim() === opts.genre, 'the second classification differs');
  // The button (keyboard users): Enter on "Classify" sends the chosen file again.
  await page.focus('#classify');
  const again = page.waitForResponse((r) => r.url().includes('/api/classify') && r.request().method() === 'POST');
  await page.keyboard.press('Enter');
  check((await again).status() === 200, 'the Classify button\'s request failed');
  await waitForResult();
  check(await page.locator('#bars .bar').count() === nBars, 'no bars after the Classify button');
  noProblems('after classifying again');

  // ---- 6. how it works ----
  const how = await context.newPage();
  watch(how);
  const hresp = await how.goto(`${base}/how-it-works`, { waitUntil: 'load' });
  check(hresp && hresp.status() === 200, `GET /how-it-works answered ${hresp && hresp.status()}`);
  await how.waitForSelector('#pipeline:not([aria-busy]) .step');
  const evals = Array.isArray(model.evaluations) ? model.evaluations : [];
  const withCm = evals.flatMap((e) => (e.candidates || []).filter((c) => c.confusion && Array.isArray(c.confusion.matrix)));
  if (withCm.length) {
    await how.waitForSelector('#confusion tbody td', { timeout: 15_000 });
    const first = evals[0].candidates.find((c) => c.name === model.evaluated_as && c.confusion) ||
      evals[0].candidates.find((c) => c.confusion) || withCm[0];
    const n = first.confusion.classes.length;
    const cm = await how.evaluate(() => ({
      cells: document.querySelectorAll('#confusion tbody td').length,
      rows: document.querySelectorAll('#confusion tbody th[scope="row"]').length,
      cols: document.querySelectorAll('#confusion thead th[scope="col"]').length,
      options: document.querySelectorAll('#cm-select option').length,
      selected: document.getElementById('cm-select').selectedOptions[0].textContent,
    }));
    check(cm.cells === n * n, `the confusion matrix has ${cm.cells} cells, not ${n}×${n}`);
    check(cm.rows === n && cm.cols === n + 1, `the confusion matrix has ${cm.rows} row and ${cm.cols} column headers`);
    check(cm.options === withCm.length, `#cm-select offers ${cm.options} matrices, the card has ${withCm.length}`);
    check(cm.selected.startsWith(first.name), `#cm-select starts on ${JSON.stringify(cm.selected)}, not ${first.name}`);
    if (cm.options > 1) {
      const initial = await how.inputValue('#cm-select');
      const other = initial === '0' ? '1' : '0';
      await how.selectOption('#cm-select', other);
      check(await how.locator('#confusion tbody td').count() === withCm[+other].confusion.classes.length ** 2, 'switching the matrix broke it');
      await how.selectOption('#cm-select', initial);
    }
    const chosenRows = await how.locator('#evaluations tr.chosen').count();
    check(!model.evaluated_as || chosenRows >= 1, `no candidate row marked as ${model.evaluated_as}`);
  } else {
    check(await how.isVisible('#cm-none'), 'no confusion matrix and no word saying so');
    if (!evals.length) check(/no measured evaluation/i.test(await how.textContent('#evaluations')), 'no "no measured evaluation" note');
  }
  const pipeline = (await how.textContent('#pipeline')) || '';
  if (model.input && model.input.sample_rate) {
    check(pipeline.includes(String(model.input.sample_rate)), `the pipeline does not name the sample rate ${model.input.sample_rate}`);
  }
  check(await how.locator('#pipeline .step').count() >= 4, 'the pipeline has fewer than 4 steps');
  noProblems('on /how-it-works');
  await how.screenshot({ path: path.join(opts.out, 'how-it-works.png'), fullPage: true });
  await how.setViewportSize({ width: 375, height: 800 });
  await how.waitForTimeout(200);
  const howOverflow = await how.evaluate(() => document.documentElement.scrollWidth);
  check(howOverflow <= 375, `/how-it-works at 375 px wide is ${howOverflow} px wide`);
  await how.screenshot({ path: path.join(opts.out, 'how-it-works-phone.png'), fullPage: true });
  await how.close();

  // ---- 7. the keyboard reaches the file chooser ----
  const kb = await context.newPage();
  watch(kb);
  await kb.goto(`${base}/`, { waitUntil: 'load' });
  let tabs = 0, reached = false;
  for (; tabs < 8 && !reached; ) {
    await kb.keyboard.press('Tab');
    tabs++;
    reached = await kb.evaluate(() => {
      const a = document.activeElement;
      return !!a && (a.id === 'file' || a.id === 'drop');
    });
  }
  check(reached, 'the file chooser is not reached within 8 Tabs');
  console.log(`browser test: the file chooser is reached with ${tabs} Tab presses`);
  noProblems('on the keyboard check');
  await kb.close();

  await browser.close();
  browser = null;

  // ---- 8. SIGTERM stops the server cleanly ----
  const end = await stopServer();
  check(!end.timeout, 'the server did not exit within 10 s of SIGTERM');
  check(end.code === 0, `the server exited with code ${end.code} signal ${end.signal} on SIGTERM`);
  finished = true;
  console.log(`browser test: ok (${checks} checks); screenshots in ${opts.out}`);
  process.exit(0);
}

const globalTimer = setTimeout(() => fail(`global timeout: not done within ${GLOBAL_TIMEOUT_MS / 1000} s`), GLOBAL_TIMEOUT_MS);
process.on('SIGINT', () => fail('interrupted'));
process.on('SIGTERM', () => fail('terminated'));
main().then(() => clearTimeout(globalTimer), (e) => fail(e instanceof Failure ? e.message : (e && e.stack) || e));
