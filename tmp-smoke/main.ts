const out = document.getElementById('out')!;
const w = new Worker(new URL('./w.ts', import.meta.url), { type: 'module' });
w.onmessage = (e) => { out.textContent += '\n' + String(e.data); };
w.onerror = (e) => { out.textContent += '\nERR ' + e.message; };
