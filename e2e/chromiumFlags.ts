/**
 * Chromium flags (the list DEVELOPERS.md documents):
 * - --enable-unsafe-webgpu: WebGPU without an origin trial / allowlisted GPU (needed headless and on Linux).
 * - --use-webgpu-adapter=swiftshader: the WebGPU adapter is SwiftShader, Vulkan on the CPU (no GPU here).
 * - --enable-features=Vulkan: Dawn's Vulkan backend, which SwiftShader implements.
 * - --no-sandbox: running as root in a container.
 * - --disable-background-networking, --disable-component-update, --disable-sync, --no-first-run: no network
 *   traffic or first-run work from the browser itself (offline, deterministic).
 * Headless is Playwright's `headless: true` (the new headless mode); `navigator.gpu` is available in workers.
 */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
