// A stand-in for genre-serve, for working on web/ without the C++ server: serves web/ with the
// real server's headers and canned JSON of the same shapes. Not a test of the server.
//   node tests/browser/mock_server.mjs [--port N] [--host H] [-m MODEL (ignored)]
// Like genre-serve it prints "genre-serve: listening on http://HOST:PORT" first and exits 0 on SIGTERM.
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../web');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = +opt('--port', '0');
const host = opt('--host', '127.0.0.1');
const MAX_MB = 100;

const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml', png: 'image/png', json: 'application/json' };
const files = new Map();
for (const f of readdirSync(webDir)) {
  files.set('/' + f, { body: readFileSync(path.join(webDir, f)), type: TYPES[f.split('.').pop()] || 'application/octet-stream' });
}
files.set('/', files.get('/index.html'));
files.set('/how-it-works', files.get('/how-it-works.html'));

const GENRES = ['blues', 'classical', 'country', 'disco', 'hiphop', 'jazz', 'metal', 'pop', 'reggae', 'rock'];
function confusion(seed) {
  return GENRES.map((_, r) => GENRES.map((__, c) => (r === c ? 10 + ((r * 7 + seed) % 9) : ((r * 3 + c * 5 + seed) % 7 === 0 ? 2 : (r + c + seed) % 11 === 0 ? 1 : 0))));
}
const MODEL = {
  name: 'genre-default-2', genres: GENRES, created: '2026-12-02T13:47:20Z', git_commit: 'd88dee49fcab', max_upload_mb: MAX_MB,
  input: { kind: 'waveform', sample_rate: 12000, window_s: 29.0, hop_s: 29.0, n_mels: 96, n_fft: 512, hop_length: 256, fmin: 0, fmax: 6000 },
  architecture: { kind: 'msd-convnet' },
  backbone: { source_repository: 'keunwoochoi/transfer_learning_music',
    paper: 'K. Choi, G. Fazekas, M. Sandler, K. Cho, "Transfer learning for music classification and regression tasks", ISMIR 2017',
    trained_on: 'Million Song Dataset, ~244k songs, the 50 most frequent Last.fm tags', license: 'see the model card' },
  data: { tracks: 900, per_class: Object.fromEntries(GENRES.map((g, i) => [g, i === 3 ? { test: 1, train: 90, valid: 9 } : { train: 90, valid: 10 }])) },
  calibration: { temperature: 1.13 },
  evaluated_as: 'msd-table',
  evaluations: [
    { split: 'artist3', recordings: 176, candidates: [
      { name: 'cnn2d', accuracy: 0.568, macro_f1: 0.436, folds: 3, confusion: { classes: GENRES, matrix: confusion(1) } },
      { name: 'msd-table', accuracy: 0.693, macro_f1: 0.623, folds: 3, confusion: { classes: GENRES, matrix: confusion(2) } }] },
    { split: 'folds5', recordings: 192, candidates: [
      { name: 'cnn2d', accuracy: 0.849, macro_f1: 0.79, folds: 5, confusion: { classes: GENRES, matrix: confusion(3) } },
      { name: 'msd-table', accuracy: 0.833, macro_f1: 0.798, folds: 5, confusion: { classes: GENRES, matrix: confusion(4) } }] }],
};

function answer(name) {
  const probs = { blues: 0.00017, classical: 0.0287, country: 0.0004, disco: 0.0002, hiphop: 0.0001, jazz: 0.9697,
    metal: 0.00005, pop: 0.0003, reggae: 0.0002, rock: 0.00008 };
  const top = Object.entries(probs).sort((a, b) => b[1] - a[1]).map(([genre, confidence]) => ({ genre, confidence }));
  const bands = 96, columns = 400, px = Buffer.alloc(bands * columns);
  for (let r = 0; r < bands; r++) {
    for (let c = 0; c < columns; c++) {
      px[r * columns + c] = Math.max(0, Math.min(255, Math.round(230 - r * 1.8 + 25 * Math.sin(c / 9 + r / 5) * ((c % 40) < 20 ? 1 : 0.3))));
    }
  }
  return { path: name, status: 'ok', model: MODEL.name, elapsed_ms: 47.8, duration_s: 10.0, windows: 1, silent: false, peak_dbfs: -4.06,
    top, probabilities: probs, timeline: [{ start_s: 0.0, genre: 'jazz', confidence: 0.981 }],
    spectrogram: { bands, columns, seconds_per_column: 0.025, min_db: -80.0, max_db: 0.0, pixels: px.toString('base64') } };
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (status, type, body, extra) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': "default-src 'self'",
      'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store', ...(extra || {}) });
    res.end(body);
  };
  const json = (status, obj) => send(status, 'application/json', JSON.stringify(obj));
  if (req.method === 'GET' && url.pathname === '/api/model') return json(200, MODEL);
  if (req.method === 'POST' && url.pathname === '/api/classify') {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= MAX_MB * 1048576) chunks.push(c); });
    req.on('end', () => {
      if (size > MAX_MB * 1048576) return json(413, { error: `upload too large (max ${MAX_MB} MB)`, status: 413 });
      const body = Buffer.concat(chunks);
      const m = /filename="([^"]*)"/.exec(body.subarray(0, 2000).toString('latin1'));
      if (body.indexOf('fLaC') < 0) return json(415, { error: 'could not decode the upload: not an audio format this server reads', status: 415 });
      return setTimeout(() => json(200, answer(m ? m[1] : 'upload')), 300);
    });
    return undefined;
  }
  const f = req.method === 'GET' ? files.get(url.pathname) : null;
  if (f) return send(200, f.type, f.body);
  return json(404, { error: 'not found: ' + url.pathname, status: 404 });
});
server.listen(port, host, () => {
  process.stdout.write(`genre-serve: listening on http://${host}:${server.address().port}\n`);
});
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
