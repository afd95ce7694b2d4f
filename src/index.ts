#!/usr/bin/env bun
/**
 * Entry point. Bun's fetch() keeps at most 256 upstream requests in flight per process unless
 * BUN_CONFIG_MAX_HTTP_REQUESTS is set before the process starts (it cannot be raised later), so the
 * gateway re-executes itself once with it set — before loading anything else, so it costs only a
 * runtime start. Then src/main.ts runs the command. Exports nothing, so the binary can use --bytecode.
 */
const MAX_UPSTREAM_REQUESTS = '4096'
const args = process.argv.slice(2)
const serving = !args.some(a => /^(-h|--help|-v|--version|help|version|routes|clients|keys|service|health|setup|doctor|usage|logs)$/.test(a))
if (serving && !process.env.BUN_CONFIG_MAX_HTTP_REQUESTS && typeof process.execve === 'function' && process.platform !== 'win32') {
  // compiled: argv[1] is the embedded entry (/$bunfs/…); from source: the script path, which must be passed again
  const compiled = process.argv[1]?.startsWith('/$bunfs/')
  // runtime flags (--smol, --inspect, --cpu-prof …) go along: process.execArgv
  const script = process.argv[1] ?? ''
  const argv = compiled ? [process.execPath, ...process.execArgv, ...args] : [process.execPath, ...process.execArgv, script, ...args]
  try {
    process.execve(process.execPath, argv, { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: MAX_UPSTREAM_REQUESTS })
  } catch {
    // could not re-execute: run with Bun's default limit
  }
}
import('./main').catch(e => {
  console.error(`agproxy: ${(e as Error)?.stack ?? e}`)
  process.exit(1)
})
