/** The dashboard's files, inlined by the bundler macro (imported lazily: the first /ui request pays for it, never the start). */
import { bundleUi } from './ui-bundle' with { type: 'macro' }

export const UI_BUNDLE = bundleUi()
