// SPDX-License-Identifier: BSD-3-Clause
// Vite build of the vflow serve web app: relative asset paths, output in dist/.
import { defineConfig } from 'vite'

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
    sourcemap: false
  }
})
