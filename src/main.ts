/**
 * The agproxy command: parse argv, load config, listen, print the banner. Loaded by src/index.ts.
 * Exports nothing (bytecode-safe). The other commands' modules are imported when they run: serving (the start that
 * has to be fast) does not evaluate them.
 */
import { parseArgs, USAGE } from './cli/args'
import { loadConfig, ConfigError } from './config/load'
import { routesText, clientsText } from './cli/print'
import { modelsText, resolveText } from './cli/models'
import { versionLine } from './cli/version'
import { serve } from './server'

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
  console.log(routesText())
  process.exit(0)
}

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
  console.log(clientsText(loaded.config))
  process.exit(0)
}
if (args.command === 'models')
  finish(args.resolve !== undefined ? resolveText(loaded.config, process.env, args.resolve) : modelsText(loaded.config, process.env, loaded.file))
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
  await serve(loaded.config, { file: loaded.file, command: args.command, reload: () => loadConfig(args.flags).config })
} catch (e) {
  console.error(`agproxy: ${(e as Error).message}`)
  process.exit(1)
}
