// Builds the page into the Python package, where `stylegan2-jax web` copies it from.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: '../stylegan2_jax/web/page',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
