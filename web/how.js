// The "How it works" page, filled from GET /api/model. Served under
// "Content-Security-Policy: default-src 'self'": the DOM is built with textContent only.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const has = (x) => x != null && x !== '';
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  const num = (x, d) => String(+x.toFixed(d));
  const pct = (x) => (isNum(x) ? (x * 100).toFixed(1) + ' %' : '—');
  const lower = (s) => s.charAt(0).toLowerCase() + s.slice(1);
  function header(tr, text, cls) { const th = el('th', cls, text); th.scope = 'col'; tr.append(th); }
  function rowHead(tr, text) { const th = el('th', null, text); th.scope = 'row'; tr.append(th); return th; }

  // ---- the pipeline ----
  function step(list, title, key, lines) {
    const li = el('li', 'step'), head = el('div', 'step-head'), text = el('div', 'step-text');
    head.append(el('h3', null, title), el('p', 'step-key', key));
    lines.filter(has).forEach((t) => text.append(el('p', null, t)));
    li.append(head, text);
    list.append(li);
  }
  function mel(i) {
    let t = 'A log-mel spectrogram: ' + (isNum(i.n_mels) ? i.n_mels : 'the') + ' mel bands' +
      (isNum(i.fmin) && isNum(i.fmax) ? ' from ' + i.fmin + ' to ' + i.fmax + ' Hz' : '');
    if (isNum(i.n_fft) && isNum(i.hop_length)) {
      t += ', an FFT of ' + i.n_fft + ' samples every ' + i.hop_length + ' samples' +
        (isNum(i.sample_rate) ? ' (' + num(i.hop_length / i.sample_rate * 1000, 1) + ' ms)' : '');
    }
    return t + ', in decibels.';
  }
  const GTZAN = 'The 57 summary features of the GTZAN feature table: chroma, loudness (RMS), spectral centroid, ' +
    'bandwidth and roll-off, zero-crossing rate, harmonic and percussive parts, tempo and 20 MFCCs, each as a mean and a variance.';

  function pipeline(m) {
    const i = m.input || {}, arch = m.architecture || {}, bb = m.backbone, kind = i.kind || '', sr = i.sample_rate;
    const list = $('pipeline');
    list.replaceChildren();
    step(list, 'Decode', 'any audio file → mono samples',
      ['The uploaded file (FLAC, WAV, MP3, Ogg, …) is decoded to samples, and its channels are mixed to one.']);
    step(list, 'Resample', isNum(sr) ? sr + ' Hz' : 'the model\'s rate', ['To ' + (isNum(sr) ? sr + ' Hz' +
      (sr % 100 ? '' : ' (' + sr / 1000 + ' kHz)') + ', ' : '') + 'the rate the network was trained at.']);
    const takes = 'The network takes the samples themselves; its first layer turns them into ' + lower(mel(i));
    const what = { waveform: [takes], logmel: [mel(i)], msd: [mel(i)], gtzan: [GTZAN],
      'waveform+gtzan': ['Two inputs. ' + takes, 'And ' + lower(GTZAN)] }[kind] ||
      [kind ? 'The model\'s input: ' + kind + '.' : null];
    let windows = null;
    if (isNum(i.window_s)) {
      windows = 'The recording is cut into windows of ' + num(i.window_s, 2) + ' s' + (!isNum(i.hop_s) ? '.'
        : i.hop_s === i.window_s ? ', one after another.' : ', a new one every ' + num(i.hop_s, 2) + ' s.');
    }
    const key = [isNum(i.window_s) ? num(i.window_s, 2) + ' s windows' : null, kind !== 'gtzan' && isNum(i.n_mels) ? i.n_mels + ' mel bands' : null,
      kind.includes('gtzan') ? '57 features' : null].filter(has).join(' · ') || kind || 'the model\'s input';
    step(list, kind === 'gtzan' ? 'Features' : 'Log-mel spectrogram', key, [windows].concat(what));
    const n = Array.isArray(m.genres) ? m.genres.length + ' ' : '';
    const net = ['The network' + (arch.kind ? ' (' + arch.kind + ')' : '') + ' gives each window a probability for each of the ' + n + 'genres.'];
    if (bb) {
      const whole = arch.head === 'tags'; // the imported network as published, its own output layer included
      net.push((whole ? 'The whole network, output layer included, was' : 'Its convolutional part was') + ' trained by others' +
        (bb.trained_on ? ' on ' + bb.trained_on : '') + (bb.source_repository ? ' (' + bb.source_repository + ')' : '') +
        (whole ? '.' : '; the genre layer was trained here.'));
      if (bb.paper) net.push('Paper: ' + bb.paper + '.');
    }
    const temp = m.calibration && m.calibration.temperature;
    if (isNum(temp) && temp !== 1) net.push('Its probabilities are calibrated (temperature ' + num(temp, 2) + ').');
    step(list, 'Network', (arch.kind || 'neural network') + (bb ? ', pre-trained' : ''), net);
    step(list, 'Windows averaged', 'one answer per recording', ['The windows\' probabilities are averaged into the answer; ' +
      'the timeline on the front page shows each window\'s own top genre.']);
    list.removeAttribute('aria-busy');
    $('pipeline-note').textContent = [m.name ? 'Model ' + m.name : null,
      m.created ? 'made ' + String(m.created).replace('T', ' ').replace('Z', ' UTC') : null,
      m.git_commit ? 'from commit ' + m.git_commit : null].filter(has).join(', ');
  }

  // ---- the data ----
  function data(m) {
    const d = m.data || {}, bb = m.backbone, per = d.per_class, table = $('data-table');
    $('data-summary').textContent = (isNum(d.tracks) ? (bb ? 'The genre layer' : 'It') + ' learned from ' + d.tracks + ' labelled recordings.'
      : 'This model\'s card does not say how many recordings it learned from.') +
      (bb && bb.trained_on ? ' The pre-trained part it builds on learned from ' + bb.trained_on +
        (bb.license ? ' (licence: ' + bb.license + ')' : '') + '.' : '');
    if (!per || typeof per !== 'object' || !Object.keys(per).length) return;
    const order = ['train', 'valid', 'test'], names = { train: 'training', valid: 'validation', test: 'test' };
    const splits = [...new Set(Object.values(per).flatMap((x) => Object.keys(x || {})))]
      .sort((a, b) => (order.indexOf(a) + 1 || 9) - (order.indexOf(b) + 1 || 9) || a.localeCompare(b));
    const known = Array.isArray(m.genres) ? m.genres : [];
    const genres = known.filter((g) => per[g]).concat(Object.keys(per).filter((g) => !known.includes(g)));
    const hr = table.tHead.insertRow();
    header(hr, 'Genre');
    splits.concat('all').forEach((s) => header(hr, names[s] || s, 'num'));
    const sums = splits.map(() => 0), body = table.tBodies[0];
    const row = (name, values) => {
      const tr = body.insertRow();
      rowHead(tr, name);
      values.concat(values.reduce((a, b) => a + b, 0)).forEach((v) => tr.append(el('td', 'num', v)));
    };
    genres.forEach((g) => row(g, splits.map((s, k) => { const v = isNum(per[g][s]) ? per[g][s] : 0; sums[k] += v; return v; })));
    row('all genres', sums);
    table.hidden = false;
  }

  // ---- the evaluations ----
  function folds(e) {
    const c = (e.candidates || []).find((x) => isNum(x.folds) && x.folds > 0), mm = /(\d+)/.exec(e.split || '');
    return c ? c.folds : mm ? +mm[1] : null;
  }
  function title(e) {
    const s = String(e.split || 'unnamed split');
    if (/artist/i.test(s)) return 'Held-out artists (' + s + ')';
    if (/fold/i.test(s)) return (folds(e) || 'K') + '-fold cross-validation (' + s + ')';
    return 'Split ' + s;
  }
  function explain(e) {
    const s = String(e.split || ''), n = folds(e), rec = isNum(e.recordings) ? e.recordings + ' recordings' : 'the recordings';
    if (/artist/i.test(s)) {
      return 'Cross-validation on held-out artists: ' + rec + ' were split into ' + (n || 'several') + ' folds with no artist ' +
        'on both sides, and each fold was classified by a model trained on the other folds only. Of the figures here, these ' +
        'are the closest to what to expect from artists the model has never heard.';
    }
    if (/fold/i.test(s)) {
      return (n || 'K') + '-fold cross-validation on ' + rec + ': each fold was classified by a model trained on the others. ' +
        'Folds keep each recording\'s copies together but not each artist\'s, so a song may be judged by a model that has ' +
        'heard its artist: expect these figures to be higher than on new music.';
    }
    return 'Measured on ' + rec + ' of the "' + s + '" split, none of them used to train the measured model.';
  }

  function evaluations(m) {
    const box = $('evaluations'), evals = Array.isArray(m.evaluations) ? m.evaluations : [], choices = [];
    if (!evals.length) {
      box.append(el('p', 'note', 'There is no measured evaluation in this model\'s card.'));
      return choices;
    }
    box.append(el('p', null, 'Accuracy is the share of recordings whose top genre was right; macro-F1 averages each genre\'s ' +
      'F1, so a rare genre counts as much as a common one. "Pooled" means all held-out folds\' answers counted together. ' +
      'Several candidate models were measured the same way; ' + (has(m.evaluated_as)
        ? 'the one this server runs (' + m.evaluated_as + ') is marked.' : 'the card does not say which of them this server runs.')));
    evals.forEach((e, ei) => {
      box.append(el('h3', null, title(e)), el('p', null, explain(e)));
      const wrap = el('div', 'table-wrap'), t = el('table');
      t.append(el('caption', null, title(e) + (isNum(e.recordings) ? ', ' + e.recordings + ' recordings' : '')));
      const hr = t.createTHead().insertRow(), body = t.createTBody();
      ['Candidate', 'Pooled accuracy', 'Macro-F1', 'Folds'].forEach((h, k) => header(hr, h, k ? 'num' : null));
      (e.candidates || []).forEach((c) => {
        const tr = body.insertRow(), chosen = has(m.evaluated_as) && c.name === m.evaluated_as, th = rowHead(tr, c.name || '?');
        if (chosen) { tr.className = 'chosen'; th.append(el('span', 'tag', 'this model')); }
        tr.append(el('td', 'num', pct(c.accuracy)), el('td', 'num', isNum(c.macro_f1) ? c.macro_f1.toFixed(3) : '—'),
          el('td', 'num', isNum(c.folds) ? c.folds : '—'));
        const cm = c.confusion;
        if (cm && Array.isArray(cm.matrix) && Array.isArray(cm.classes)) choices.push({ ei, e, c, chosen });
      });
      wrap.append(t);
      box.append(wrap);
    });
    return choices;
  }

  // ---- the confusion matrix ----
  const STOPS = [[243, 245, 248], [107, 159, 208], [8, 48, 107]];
  function heat(share) {
    const x = Math.max(0, Math.min(1, share)) * 2, k = Math.min(Math.floor(x), 1), f = x - k;
    return STOPS[k].map((v, i) => Math.round(v * (1 - f) + STOPS[k + 1][i] * f));
  }
  function luminance(rgb) {
    const c = rgb.map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function confusion(ch) {
    const t = $('confusion'), cls = ch.c.confusion.classes, mx = ch.c.confusion.matrix;
    t.replaceChildren(el('caption', 'sr-only', 'Confusion matrix of ' + ch.c.name + ': true genre in rows, predicted genre in columns'));
    const hr = t.createTHead().insertRow(), body = t.createTBody();
    header(hr, 'true ↓ predicted →', 'corner');
    cls.forEach((g) => header(hr, g));
    let total = 0, right = 0;
    cls.forEach((g, r) => {
      const row = Array.isArray(mx[r]) ? mx[r] : [], sum = row.reduce((a, b) => a + (isNum(b) ? b : 0), 0), tr = body.insertRow();
      rowHead(tr, g);
      cls.forEach((p, c) => {
        const v = isNum(row[c]) ? row[c] : 0, td = el('td', r === c ? 'diag' : null, v), rgb = heat(sum ? v / sum : 0), L = luminance(rgb);
        total += v;
        if (r === c) right += v;
        td.style.backgroundColor = 'rgb(' + rgb + ')';
        td.style.color = (L + 0.05) / 0.0626 >= 1.05 / (L + 0.05) ? '#1b1f24' : '#fff'; // the text colour with more contrast
        td.title = v + ' of ' + sum + ' ' + g + ' recordings predicted as ' + p;
        tr.append(td);
      });
    });
    $('cm-caption').textContent = ch.c.name + ', ' + title(ch.e) + ': rows are the true genre, columns the genre predicted; ' +
      'the darker the cell, the larger its share of the row. ' + right + ' of ' + total + ' recordings (' +
      (total ? (right / total * 100).toFixed(1) : 0) + ' %) are on the diagonal, classified right.';
  }
  function matrices(choices) {
    const sel = $('cm-select');
    $('cm-part').hidden = !choices.length;
    $('cm-none').hidden = !!choices.length;
    if (!choices.length) return;
    choices.forEach((ch, k) => {
      const o = el('option', null, ch.c.name + ' — ' + title(ch.e) + (ch.chosen ? ' (this model)' : ''));
      o.value = k;
      sel.append(o);
    });
    let first = choices.findIndex((ch) => ch.ei === 0 && ch.chosen);
    if (first < 0) first = Math.max(0, choices.findIndex((ch) => ch.ei === 0));
    sel.value = first;
    sel.addEventListener('change', () => confusion(choices[+sel.value]));
    confusion(choices[first]);
  }

  fetch('/api/model').then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); }).then((m) => {
    if (m.name) $('model-name').textContent = m.name;
    pipeline(m);
    data(m);
    matrices(evaluations(m));
  }).catch((err) => {
    const box = $('load-error');
    box.textContent = 'The model\'s description (/api/model) could not be loaded: ' + err.message;
    box.hidden = false;
    $('pipeline').removeAttribute('aria-busy');
  });
})();
