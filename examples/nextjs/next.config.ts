import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // This folder is the app's root, even inside the Tally repository (whose lock file
  // Next would otherwise take for a monorepo root).
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
};

export default nextConfig;
