/** A uPlot chart as a Preact component: sized to its box, redrawn when the data changes, colours from the theme. */
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'

export interface Series {
  label: string
  /** a CSS variable name (--c1) or a colour */
  color: string
  /** one value per x */
  values: Array<number | null>
  bars?: boolean
}

const colorOf = (c: string) => (c.startsWith('--') ? getComputedStyle(document.documentElement).getPropertyValue(c).trim() || '#888' : c)

/** `x`: seconds since the epoch. The chart's totals per series are on the element (data-totals) for tests and tooling. */
export function Chart(p: { x: number[]; series: Series[]; height?: number; yFormat?: (v: number) => string; testid?: string }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | undefined>(undefined)
  const height = p.height ?? 220
  // redrawn in the new colours when the system switches between light and dark
  const [dark, setDark] = useState(() => matchMedia('(prefers-color-scheme: dark)').matches)
  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)')
    const on = () => setDark(mq.matches)
    mq.addEventListener('change', on)
    return () => mq.removeEventListener('change', on)
  }, [])

  useEffect(() => {
    const el = box.current
    if (!el) return
    const grid = colorOf('--grid')
    const text = colorOf('--muted')
    const bars = uPlot.paths.bars?.({ size: [0.6, 48], gap: 2 })
    const step = p.x.length > 1 ? (p.x[1] ?? 0) - (p.x[0] ?? 0) : 60
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // half a step of room at each end, so the first and last bars are whole
      scales: { x: { time: true, range: (_u, min, max) => [min - step / 2, max + step / 2] } },
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: text,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 64,
          values: (_u, vals) => vals.map(v => (p.yFormat ? p.yFormat(v) : String(v))),
        },
      ],
      series: [
        {},
        ...p.series.map(s => ({
          label: s.label,
          stroke: colorOf(s.color),
          width: 2,
          fill: `${colorOf(s.color)}33`,
          points: { show: !s.bars, size: 5 },
          ...(s.bars && bars ? { paths: bars, fill: `${colorOf(s.color)}bb` } : {}),
        })),
      ],
    }
    const u = new uPlot(opts, [p.x, ...p.series.map(s => s.values)] as uPlot.AlignedData, el)
    plot.current = u
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }))
    ro.observe(el)
    return () => {
      ro.disconnect()
      u.destroy()
    }
  }, [p.x, p.series, height, dark])

  const totals = Object.fromEntries(p.series.map(s => [s.label, s.values.reduce<number>((a, v) => a + (v ?? 0), 0)]))
  return <div class="chart" ref={box} data-testid={p.testid} data-totals={JSON.stringify(totals)} />
}
