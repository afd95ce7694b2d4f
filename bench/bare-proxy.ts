/**
 * The floor for any Bun proxy: Bun.serve + fetch, the body and the answer streamed through untouched.
 *   bun bench/bare-proxy.ts --upstream http://127.0.0.1:PORT [--port N]
 */
const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const upstream = arg('--upstream') ?? 'http://127.0.0.1:8080'
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(arg('--port') ?? 0),
  idleTimeout: 0,
  async fetch(req) {
    const url = req.url.slice(req.url.indexOf('/', 8))
    const res = await fetch(upstream + url, { method: req.method, headers: req.headers, body: req.body, signal: req.signal })
    return new Response(res.body, res)
  },
})
console.log(`listening on http://127.0.0.1:${server.port}`)
