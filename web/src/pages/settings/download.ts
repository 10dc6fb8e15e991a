/**
 * Saves text as a file the browser downloads (recovery codes as .txt): a Blob and a temporary
 * object URL, so the codes never travel to the portal again.
 */
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has started the download: revoking at once can cancel it in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
