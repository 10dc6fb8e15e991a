import type { Manifest } from '../package/index.js';
import { encodePng, type Rgba } from './png.js';

/**
 * The app `mosis init` scaffolds: a small counter that passes every check of PACKAGE.md with no
 * finding at all, so a developer starts from a package the portal accepts. Tests build their
 * clean and hostile packages from it too.
 */

export interface SampleFile {
  /** Package path, `/`-separated. */
  path: string;
  data: Buffer;
}

export interface SampleAppOptions {
  id: string;
  name: string;
}

export const ICON_SIZES = [32, 64, 128] as const;

export function sampleManifest({ id, name }: SampleAppOptions): Manifest {
  return {
    id,
    name,
    version: '1.0.0',
    version_code: 1,
    entry: 'assets/main.rml',
    min_mosis_version: '1.0.0',
    permissions: [],
    author: { name: 'Your Name', email: 'you@example.com' },
    icons: { '32': 'icons/icon-32.png', '64': 'icons/icon-64.png', '128': 'icons/icon-128.png' },
    description: `${name}: a Mosis app.`,
  };
}

export function sampleApp(options: SampleAppOptions): SampleFile[] {
  const text = (path: string, content: string): SampleFile => ({ path, data: Buffer.from(content, 'utf8') });
  return [
    text('manifest.json', `${JSON.stringify(sampleManifest(options), null, 2)}\n`),
    text('assets/main.rml', mainRml(options.name)),
    text('assets/styles/theme.rcss', THEME_RCSS),
    text('assets/scripts/app.lua', APP_LUA),
    ...ICON_SIZES.map((size) => ({ path: `icons/icon-${size}.png`, data: icon(size) })),
  ];
}

function mainRml(name: string): string {
  const title = escapeMarkup(name);
  return `<rml>
  <head>
    <title>${title}</title>
    <link type="text/rcss" href="styles/theme.rcss"/>
    <script src="scripts/app.lua"></script>
  </head>
  <body>
    <h1>${title}</h1>
    <p>You pressed the button <span id="count">0</span> times.</p>
    <button onclick="App.increment(document)">Press me</button>
  </body>
</rml>
`;
}

const THEME_RCSS = `body {
  font-family: LatoLatin;
  background-color: #1e1e2e;
  color: #cdd6f4;
  padding: 16px;
}

h1 {
  font-size: 24px;
  margin-bottom: 12px;
}

button {
  display: block;
  width: 160px;
  padding: 8px;
  background-color: #89b4fa;
  color: #1e1e2e;
  text-align: center;
}

button:hover {
  background-color: #b4befe;
}
`;

const APP_LUA = `-- Logic of the sample app: counts button presses and shows the total.
App = App or {}

local count = 0

function App.increment(document)
  count = count + 1
  local label = document:GetElementById("count")
  if label ~= nil then
    label.inner_rml = tostring(count)
  end
end
`;

/** A blue rounded tile with a white dot, drawn at `size`×`size`. */
function icon(size: number): Buffer {
  const radius = size * 0.2;
  const centre = (size - 1) / 2;
  return encodePng(size, size, (x, y): Rgba => {
    // Distance outside the rounded corner's circle decides transparency.
    const dx = Math.max(radius - x, 0, x - (size - 1 - radius));
    const dy = Math.max(radius - y, 0, y - (size - 1 - radius));
    if (Math.hypot(dx, dy) > radius) return [0, 0, 0, 0];
    if (Math.hypot(x - centre, y - centre) < size * 0.22) return [255, 255, 255, 255];
    const shade = Math.round(160 + (95 * y) / size);
    return [40, 90, shade, 255];
  });
}

function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
