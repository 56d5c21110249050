// The front page: upload a recording, show POST /api/classify's answer. Served under
// "Content-Security-Policy: default-src 'self'": the DOM is built with textContent, styled via CSSOM.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  // 12 distinguishable colours, keyed by the genre's index in the model's genre list
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948',
    '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#2d2d8f', '#a0cbe8'];
  // viridis at 16 steps, interpolated to 256 below
  const VIRIDIS = '440154481a6c472f7d41448739568c31688e2a788e23888e1f988b22a88435b77954c5687ad151a5db36d2e21bfde725';
  let model = null, request = null, lastFile = null;
  const extra = []; // genres an answer names that the model's list lacks

  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const pct = (c, d) => (c * 100).toFixed(d) + ' %';
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  const clear = (n) => n.replaceChildren();
  function clock(s) {
    if (!isNum(s) || s < 0) return '?';
    const t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, p = (x) => (x < 10 ? '0' : '') + x;
    return (h ? h + ':' + p(m) : m) + ':' + p(t % 60);
  }
  const size = (b) => (b < 1048576 ? Math.ceil(b / 1024) + ' KB' : (b / 1048576).toFixed(1) + ' MB');
  function colour(g) {
    const list = (model && Array.isArray(model.genres) && model.genres) || [];
    let i = list.indexOf(g);
    if (i < 0) { if (!extra.includes(g)) extra.push(g); i = list.length + extra.indexOf(g); }
    return PALETTE[i % PALETTE.length];
  }
  const LUT = new Uint8ClampedArray(768);
  for (let i = 0; i < 256; i++) {
    const x = i / 255 * 15, k = Math.min(Math.floor(x), 14), f = x - k;
    for (let c = 0; c < 3; c++) {
      const v = (j) => parseInt(VIRIDIS.substr(j * 6 + c * 2, 2), 16);
      LUT[i * 3 + c] = Math.round(v(k) * (1 - f) + v(k + 1) * f);
    }
  }
  const limitMB = () => (model && isNum(model.max_upload_mb) ? model.max_upload_mb : null);

  function loadModel() {
    fetch('/api/model').then((r) => (r.ok ? r.json() : null)).then((m) => {
      if (!m || typeof m !== 'object') return;
      model = m;
      if (limitMB() !== null) document.querySelectorAll('.limit-text').forEach((n) => { n.textContent = limitMB() + ' MB'; });
      const g = Array.isArray(m.genres) ? m.genres : [];
      if (g.length) $('genre-list').textContent = g.length <= 14 ? g.join(', ') : g.slice(0, 12).join(', ') + ' and ' + (g.length - 12) + ' more';
    }).catch(() => {}); // the page works without it
  }

  // ---- states ----
  function showError(text) { const b = $('error'); b.textContent = text; b.hidden = false; }
  const status = (text) => { $('status').textContent = text; };
  function progress(fraction, name) { // fraction null: indeterminate, "analysing"
    const p = $('progress');
    $('progress-box').hidden = false;
    if (fraction === null) {
      p.removeAttribute('value');
      $('progress-label').textContent = 'Analysing…';
      status('Uploaded. Analysing…');
    } else {
      p.value = Math.round(fraction * 100);
      $('progress-label').textContent = 'Uploading ' + name + '… ' + Math.round(fraction * 100) + ' %';
    }
  }

  // ---- upload ----
  function classify(file) {
    if (!file) { showError('Choose a file first.'); $('file').focus(); return; }
    lastFile = file;
    if (request) request.abort();
    request = null;
    $('error').hidden = true;
    $('results').hidden = true;
    $('chosen').textContent = file.name + ' (' + size(file.size) + ')';
    if (limitMB() !== null && file.size > limitMB() * 1048576) { // the server counts MiB
      showError('upload too large (max ' + limitMB() + ' MB): ' + file.name + ' is ' + size(file.size) + '.');
      status('');
      return;
    }
    const form = new FormData();
    form.append('file', file, file.name || 'upload');
    const xhr = request = new XMLHttpRequest();
    const mine = (fn) => (e) => { if (request === xhr) fn(e); };
    xhr.open('POST', '/api/classify?top=10&timeline=1&picture=1');
    xhr.upload.onprogress = mine((e) => { if (e.lengthComputable && e.total) progress(e.loaded / e.total, file.name); });
    xhr.upload.onload = mine(() => progress(null));
    xhr.onload = mine(() => { request = null; $('progress-box').hidden = true; answered(xhr, file); });
    xhr.onerror = mine(() => {
      request = null;
      $('progress-box').hidden = true;
      status('');
      showError('The upload of ' + file.name + ' failed: the connection to the server broke. Is the server running, ' +
        'and is the file within its limit' + (limitMB() !== null ? ' of ' + limitMB() + ' MB' : '') + '?');
    });
    progress(0, file.name);
    status('Uploading ' + file.name + '…');
    xhr.send(form);
  }

  function answered(xhr, file) {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 200 && body && typeof body === 'object') {
      try { render(body); return; } catch (e) { body = { error: 'the answer could not be shown (' + e.message + ')' }; }
    }
    let text = body && typeof body.error === 'string' && body.error ? body.error
      : 'the server answered HTTP ' + xhr.status + ' ' + xhr.statusText;
    const retry = xhr.getResponseHeader('Retry-After');
    if (xhr.status === 503 && retry) text += ' — try again in ' + retry + ' s';
    showError(text.includes(file.name) ? text : 'Could not classify ' + file.name + ': ' + text);
    status('');
  }

  // ---- the answer ----
  function render(r) {
    const probs = r.probabilities && typeof r.probabilities === 'object' ? r.probabilities : {};
    const sorted = Object.keys(probs).filter((g) => isNum(probs[g]))
      .map((g) => ({ genre: g, confidence: probs[g] })).sort((a, b) => b.confidence - a.confidence);
    const top = Array.isArray(r.top) && r.top.length ? r.top.slice() : [];
    for (const s of sorted) if (top.length < 5 && !top.some((t) => t.genre === s.genre)) top.push(s);
    const silent = r.silent === true;
    renderFacts(r);
    $('genre-parts').hidden = silent;
    $('table-part').hidden = silent || !sorted.length;
    const v = $('verdict');
    clear(v);
    let said;
    if (silent) {
      said = v.textContent = 'This recording is silent (loudest sample ' +
        (isNum(r.peak_dbfs) ? r.peak_dbfs.toFixed(1) + ' dBFS' : 'below any measurable level') + '): no genre named.';
    } else {
      said = verdict(v, top);
      renderBars(top.slice(0, 5));
      renderTimeline(r);
      renderTable(sorted);
    }
    // A silent recording's picture is one flat colour (levels are relative to its peak): not shown.
    const pic = !silent && r.spectrogram && r.spectrogram.pixels ? r.spectrogram : null;
    $('spectrogram-part').hidden = !pic;
    $('results').hidden = false;
    if (pic) spectrogram(pic);
    status('Done. ' + said);
    const h = $('results-h');
    h.tabIndex = -1;
    h.focus({ preventScroll: true });
    h.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  function verdict(p, top) {
    if (!top.length) return (p.textContent = 'The server named no genre.');
    const [a, b] = top, B = (g) => el('b', null, g);
    if (a.confidence >= 0.8) {
      p.append('This sounds like ', B(a.genre), '.');
      return 'This sounds like ' + a.genre + ' (' + pct(a.confidence, 1) + ').';
    }
    if (a.confidence >= 0.5 || !b) {
      p.append('Probably ', B(a.genre), ', but not certain: ' + pct(a.confidence, 0) +
        (b ? ', with ' + b.genre + ' next at ' + pct(b.confidence, 0) : '') + '.');
    } else {
      p.append('Not sure: maybe ', B(a.genre), ' or ', B(b.genre),
        ' (' + pct(a.confidence, 0) + ' and ' + pct(b.confidence, 0) + '); no genre stands out.');
    }
    return p.textContent;
  }

  function renderBars(items) {
    const list = $('bars');
    clear(list);
    for (const t of items) {
      const li = el('li', 'bar'), track = el('span', 'bar-track'), fill = el('span', 'bar-fill');
      fill.style.backgroundColor = colour(t.genre);
      fill.style.width = Math.max(0, Math.min(1, t.confidence)) * 100 + '%';
      track.setAttribute('aria-hidden', 'true');
      track.append(fill);
      li.append(el('span', 'bar-genre', t.genre), track, el('span', 'bar-value', pct(t.confidence, 1)));
      list.append(li);
    }
  }

  function renderTimeline(r) {
    const strip = $('timeline'), legend = $('legend');
    clear(strip);
    clear(legend);
    const ws = Array.isArray(r.timeline) ? r.timeline.filter((w) => w && isNum(w.start_s)) : [];
    const inp = (model && model.input) || {}, step = inp.hop_s || inp.window_s || 1;
    const dur = isNum(r.duration_s) && r.duration_s > 0 ? r.duration_s : 0;
    const spans = ws.map((w, i) => {
      let end = i + 1 < ws.length ? ws[i + 1].start_s : dur || w.start_s + step;
      if (!(end > w.start_s)) end = w.start_s + step;
      return { start: w.start_s, end, genre: String(w.genre), c: w.confidence };
    });
    const total = Math.max(dur, spans.length ? spans[spans.length - 1].end : 0) || 1;
    $('timeline-end').textContent = clock(total);
    strip.hidden = !spans.length;
    if (!spans.length) { legend.append(el('li', 'muted', 'No per-window answers in this reply.')); return; }
    if (spans[0].start > 0) { // a gap before the first window
      const gap = el('div', 'seg');
      gap.style.width = spans[0].start / total * 100 + '%';
      strip.append(gap);
    }
    const seen = new Map();
    for (const s of spans) {
      const seg = el('div', 'seg');
      const label = clock(s.start) + '–' + clock(s.end) + ' ' + s.genre + (isNum(s.c) ? ' ' + Math.round(s.c * 100) + ' %' : '');
      seg.setAttribute('role', 'img');
      seg.setAttribute('aria-label', label);
      seg.title = label;
      seg.style.width = (s.end - s.start) / total * 100 + '%';
      seg.style.backgroundColor = colour(s.genre);
      strip.append(seg);
      seen.set(s.genre, (seen.get(s.genre) || 0) + 1);
    }
    const order = (model && Array.isArray(model.genres) && model.genres) || [];
    [...seen.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b)).forEach((g) => {
      const li = el('li'), sw = el('span', 'swatch'), n = seen.get(g);
      sw.style.backgroundColor = colour(g);
      li.append(sw, el('span', null, g + ' (' + n + (n === 1 ? ' window)' : ' windows)')));
      legend.append(li);
    });
  }

  function renderTable(sorted) {
    const body = $('probabilities').tBodies[0];
    clear(body);
    for (const s of sorted) {
      const tr = el('tr'), th = el('th', null, s.genre);
      th.scope = 'row';
      tr.append(th, el('td', null, s.confidence > 0 && s.confidence < 1e-4 ? '< 0.01 %' : pct(s.confidence, 2)));
      body.append(tr);
    }
  }

  function renderFacts(r) {
    const dl = $('facts'), win = model && model.input && model.input.window_s;
    clear(dl);
    const add = (k, v) => { if (v != null && v !== '') dl.append(el('dt', null, k), el('dd', null, v)); };
    add('File', r.path);
    if (isNum(r.duration_s)) add('Duration', clock(r.duration_s) + ' (' + r.duration_s.toFixed(1) + ' s)');
    if (isNum(r.windows)) add('Windows', r.windows + (isNum(win) ? ' (of up to ' + win + ' s each)' : ''));
    if (isNum(r.peak_dbfs)) add('Loudest sample', r.peak_dbfs.toFixed(1) + ' dBFS');
    if (isNum(r.elapsed_ms)) add('Time to classify', r.elapsed_ms.toFixed(1) + ' ms');
    add('Model', r.model || (model && model.name));
  }

  function spectrogram(s) {
    const bands = s.bands | 0, cols = s.columns | 0, canvas = $('spectrogram');
    let px = '';
    try { px = atob(s.pixels); } catch (e) { /* bad base64 */ }
    if (bands <= 0 || cols <= 0 || px.length < bands * cols) { $('spectrogram-part').hidden = true; return; }
    const k = Math.ceil(cols / 4096), w = Math.ceil(cols / k); // long songs: the loudest of k columns
    canvas.width = w;
    canvas.height = bands;
    const ctx = canvas.getContext('2d'), img = ctx.createImageData(w, bands), d = img.data;
    for (let row = 0; row < bands; row++) { // row 0 is the lowest band: drawn at the bottom
      for (let x = 0; x < w; x++) {
        let v = 0;
        for (let c = x * k; c < Math.min(cols, x * k + k); c++) v = Math.max(v, px.charCodeAt(row * cols + c));
        const o = ((bands - 1 - row) * w + x) * 4;
        d.set([LUT[v * 3], LUT[v * 3 + 1], LUT[v * 3 + 2], 255], o);
      }
    }
    ctx.putImageData(img, 0, 0);
    const secs = cols * (s.seconds_per_column > 0 ? s.seconds_per_column : 0);
    const lo = isNum(s.min_db) ? s.min_db : -80, hi = isNum(s.max_db) ? s.max_db : 0;
    const db = (x) => String(Math.round(x * 10) / 10 || 0).replace('-', '−') + ' dB';
    canvas.setAttribute('aria-label', 'Log-mel spectrogram of the recording: ' + (secs ? secs.toFixed(1) + ' seconds, ' : '') +
      bands + ' mel bands, colour from ' + db(lo) + ' (dark) to ' + db(hi) + ' (bright).');
    $('cb-min').textContent = db(lo);
    $('cb-max').textContent = db(hi);
    const bar = $('colorbar'), bctx = bar.getContext('2d'), bimg = bctx.createImageData(bar.width, 1);
    for (let x = 0; x < bar.width; x++) {
      const v = Math.round(x / (bar.width - 1) * 255);
      bimg.data.set([LUT[v * 3], LUT[v * 3 + 1], LUT[v * 3 + 2], 255], x * 4);
    }
    bctx.putImageData(bimg, 0, 0);
    const ticks = $('spec-ticks');
    clear(ticks);
    if (!secs) return;
    const step = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((x) => secs / x <= 8) || 1200;
    const put = (t, text, cls) => { const sp = el('span', cls, text); sp.style.left = t / secs * 100 + '%'; ticks.append(sp); };
    put(0, '0', 'first');
    for (let t = step; t < secs - 0.6 * step; t += step) put(t, +t.toFixed(1));
    put(secs, +secs.toFixed(1) + ' s', 'last');
  }

  // ---- wiring ----
  const origin = location.origin + '/api/classify';
  $('shell-cmd').textContent = 'yt-dlp -x -o - URL | curl --data-binary @- ' + origin;
  $('shell-cmd2').textContent = 'yt-dlp -f bestaudio -o - URL | ffmpeg -i - -f flac - | curl --data-binary @- ' + origin;
  const input = $('file'), drop = $('drop');
  input.addEventListener('change', () => { if (input.files[0]) classify(input.files[0]); });
  $('form').addEventListener('submit', (e) => { e.preventDefault(); classify(input.files[0] || lastFile); });
  let depth = 0;
  drop.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; drop.classList.add('dragging'); });
  drop.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; drop.classList.remove('dragging'); } });
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    drop.classList.remove('dragging');
    const files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) { showError('Nothing to classify was dropped: drop a file.'); return; }
    try { input.files = files; } catch (err) { /* lastFile keeps it */ }
    classify(files[0]);
  });
  // Let the zone take drops, and keep a file dropped beside it from replacing the page.
  ['dragover', 'drop'].forEach((t) => window.addEventListener(t, (e) => e.preventDefault()));
  loadModel();
})();
