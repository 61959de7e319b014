import { chromium } from '@playwright/test';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--enable-unsafe-webgpu','--use-webgpu-adapter=swiftshader','--enable-features=Vulkan','--no-sandbox','--disable-background-networking','--disable-component-update','--disable-sync','--no-first-run'] });
const p = await b.newPage();
p.on('console', m => console.log('console:', m.text()));
await p.goto('http://localhost:5199/tmp-smoke/index.html');
const t0 = Date.now();
while (Date.now() - t0 < 300000) {
  const t = await p.textContent('#out');
  if (t.includes('DONE') || t.includes('FAIL') || t.includes('ERR')) { console.log(t); break; }
  await new Promise(r => setTimeout(r, 2000));
}
console.log((await p.textContent('#out')));
await b.close();
