/**
 * The permissions a Mosis app can declare (docs/permissions.md), in plain words: what it lets the
 * app do, for someone deciding whether to install it, and the risk a reviewer weighs (the same
 * levels as PERMISSION_RISK in src/package/permissions.ts).
 */

export type PermissionRisk = 'low' | 'medium' | 'high';

export interface PermissionInfo {
  label: string;
  /** What the app may do with it, as a visitor reads it. */
  plain: string;
  risk: PermissionRisk;
}

export const PERMISSION_INFO: Readonly<Record<string, PermissionInfo>> = {
  storage: { label: 'Storage', plain: 'Keeps files in its own storage on the device. It cannot read other apps’ files.', risk: 'low' },
  notifications: { label: 'Notifications', plain: 'Shows you notifications.', risk: 'low' },
  network: { label: 'Internet', plain: 'Sends and receives data over the internet (HTTPS only). Anything the app holds could be sent to a server.', risk: 'medium' },
  clipboard: { label: 'Clipboard', plain: 'Reads and writes the clipboard, including what you copied in other apps.', risk: 'medium' },
  sensors: { label: 'Motion sensors', plain: 'Reads the motion sensors, which can reveal what you are doing.', risk: 'medium' },
  camera: { label: 'Camera', plain: 'Uses the camera: it can see what the camera sees.', risk: 'high' },
  microphone: { label: 'Microphone', plain: 'Uses the microphone: it can hear what the microphone hears.', risk: 'high' },
  location: { label: 'Location', plain: 'Knows where the device is.', risk: 'high' },
};

export const RISK_LABELS: Readonly<Record<PermissionRisk, string>> = { low: 'Low risk', medium: 'Medium risk', high: 'High risk' };
export const RISK_TONES: Readonly<Record<PermissionRisk, 'neutral' | 'warning' | 'danger'>> = { low: 'neutral', medium: 'warning', high: 'danger' };

/** A permission this UI does not know yet (a newer portal): shown by its name, never hidden. */
export function permissionInfo(permission: string): PermissionInfo {
  return PERMISSION_INFO[permission] ?? { label: permission, plain: 'A permission this page has no description for yet.', risk: 'medium' };
}
