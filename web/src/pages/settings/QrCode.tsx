/**
 * A QR code drawn in the browser as SVG (uqr encodes; nothing leaves the page: the otpauth URI
 * holds the TOTP secret, so it is never sent to a QR service). Always dark on white with a quiet
 * zone, whatever the theme: that is what authenticator apps' cameras read best.
 */
import { useMemo } from 'react';
import { encode } from 'uqr';

/** The quiet zone the QR specification asks for around the code, in modules. */
const QUIET_ZONE = 4;

export function QrCode({ value, label, size = 200 }: { value: string; label: string; size?: number }) {
  const { path, extent } = useMemo(() => {
    const qr = encode(value, { ecc: 'M', border: 0 });
    let d = '';
    qr.data.forEach((row, y) =>
      row.forEach((dark, x) => {
        if (dark) d += `M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`;
      }),
    );
    return { path: d, extent: qr.size + QUIET_ZONE * 2 };
  }, [value]);
  return (
    <svg className="sa-qr" role="img" aria-label={label} width={size} height={size} viewBox={`0 0 ${extent} ${extent}`} shapeRendering="crispEdges">
      {/* Fixed colours on purpose: a scanner needs dark modules on a light ground in both themes. */}
      <rect width={extent} height={extent} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}
