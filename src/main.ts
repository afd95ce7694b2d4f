/**
 * The agproxy command: parse argv, load config, listen, print the banner. Loaded by src/index.ts.
 * Exports nothing (bytecode-safe). Each command's modules are imported when it runs: serving (the start that has to be
 * fast) does not evaluate the other commands', and --version, help and the other commands do not load the server.
 */
import { parseArgs, USAGE } from './cli/args'
import { versionLine } from './cli/version'

/** Print a command's result and exit with its code: a report (also "not running") to stdout, a failure (`agproxy: …`) to stderr. */
function finish(r: { code: number; out: string }): never {
  if (r.code === 0 || !r.out.startsWith('agproxy:')) console.log(r.out)
  else console.error(r.out)
  process.exit(r.code)
}

const args = parseArgs(process.argv.slice(2))
if (args.error) {
  console.error(`agproxy: ${args.error}\nRun agproxy --help for usage.`)
  process.exit(2)
}
// serving: the server's modules load while the config is read
const server = args.command === 'serve' ? import('./server') : undefined
server?.catch(() => {}) // a failure is reported where it is awaited
if (args.command === 'help') {
  console.log(USAGE)
  process.exit(0)
}
if (args.command === 'version') {
  if (!args.check) {
    console.log(versionLine())
    process.exit(0)
  }
  const { versionCheck } = await import('./cli/version')
  finish(await versionCheck({ url: process.env.AGPROXY_RELEASES_URL }))
}
if (args.command === 'routes') {
  console.log((await import('./cli/print')).routesText())
  process.exit(0)
}

const { loadConfig, ConfigError } = await import('./config/load')
let loaded: ReturnType<typeof loadConfig>
try {
  loaded = loadConfig(args.flags)
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`agproxy: ${e.message}`)
    process.exit(1)
  }
  throw e
}

if (args.command === 'clients') {
  console.log((await import('./cli/print')).clientsText(loaded.config))
  process.exit(0)
}
if (args.command === 'models') {
  const { modelsText, resolveText } = await import('./cli/models')
  finish(args.resolve !== undefined ? resolveText(loaded.config, process.env, args.resolve) : modelsText(loaded.config, process.env, loaded.file))
}
if (args.command === 'service' && args.action) {
  const { currentContext, serviceCommand } = await import('./cli/service')
  finish(await serviceCommand(args.action, currentContext(args.flags, loaded.file)))
}
if (args.command === 'health') finish(await (await import('./cli/service')).healthCommand(loaded.config))
if (args.command === 'keys' && args.keysAction) {
  const { clientKeysCommand } = await import('./cli/client-keys')
  const r = await clientKeysCommand(loaded.config, args.keysAction, args.keyName, args.opts ?? {})
  if (r.out) (r.code === 0 ? console.log : console.error)(r.out)
  process.exit(r.code)
}
if (args.command === 'keys') finish(await (await import('./cli/keys')).keysCommand(loaded.config))

if (args.command === 'setup') {
  const { setupCommand } = await import('./cli/setup')
  const r = setupCommand(args.setup ?? {}, loaded.config, { interactive: process.stdin.isTTY, ask: q => prompt(q) })
  if (r.code === 0) console.log(r.out)
  else console.error(r.out)
  process.exit(r.code)
}
if (args.command === 'doctor') {
  // the whole report goes to stdout, whatever the outcome
  const { doctorCommand } = await import('./cli/doctor')
  const r = await doctorCommand(loaded.config)
  console.log(r.out)
  process.exit(r.code)
}

if (args.command === 'usage' || args.command === 'logs') {
  const o = args.opts ?? {}
  const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined)
  const { usageCommand } = await import('./cli/usage')
  const { logsCommand } = await import('./cli/logs')
  const r =
    args.command === 'usage'
      ? await usageCommand(loaded.config, { since: str(o.since), by: str(o.by), json: o.json === true })
      : await logsCommand(loaded.config, { since: str(o.since), status: str(o.status), model: str(o.model), follow: o.follow === true })
  if (r.out) (r.code === 0 ? console.log : console.error)(r.out)
  process.exit(r.code)
}

try {
  const { serve } = await (server ?? import('./server'))
  await serve(loaded.config, { file: loaded.file, command: args.command, reload: () => loadConfig(args.flags).config })
  // the executable starts with a reluctant JIT (scripts/build.ts: --compile-jit-policy); listening, it gets the normal one
  Bun.unsafe.setJITPolicy?.(1)
} catch (e) {
  console.error(`agproxy: ${(e as Error).message}`)
  process.exit(1)
}
