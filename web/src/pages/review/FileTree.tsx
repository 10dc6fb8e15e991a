/**
 * A package's files as folders and files with their sizes (a folder's is the sum of what it
 * holds). Folders are native <details>: Enter or Space opens and closes one, and "Expand all" /
 * "Collapse all" do every folder at once. The top level starts open.
 */
import { useMemo, useState } from 'react';
import { formatBytes, formatNumber } from '../store/format';

interface Folder {
  name: string;
  path: string;
  size: number;
  files: number;
  folders: Folder[];
  entries: { name: string; path: string; size: number }[];
}

function buildTree(files: readonly { path: string; size: number }[]): Folder {
  const root: Folder = { name: '', path: '', size: 0, files: 0, folders: [], entries: [] };
  for (const file of files) {
    const parts = file.path.split('/');
    const name = parts.pop() ?? file.path;
    let folder = root;
    folder.size += file.size;
    folder.files += 1;
    for (const part of parts) {
      let next = folder.folders.find((f) => f.name === part);
      if (!next) {
        next = { name: part, path: folder.path ? `${folder.path}/${part}` : part, size: 0, files: 0, folders: [], entries: [] };
        folder.folders.push(next);
      }
      next.size += file.size;
      next.files += 1;
      folder = next;
    }
    folder.entries.push({ name, path: file.path, size: file.size });
  }
  const sort = (folder: Folder) => {
    folder.folders.sort((a, b) => a.name.localeCompare(b.name));
    folder.entries.sort((a, b) => a.name.localeCompare(b.name));
    folder.folders.forEach(sort);
  };
  sort(root);
  return root;
}

export function FileTree({ files }: { files: readonly { path: string; size: number }[] }) {
  const tree = useMemo(() => buildTree(files), [files]);
  // Bumped to open or close every folder: each <details> takes `open` from it when it changes.
  const [all, setAll] = useState<{ open: boolean; generation: number }>({ open: false, generation: 0 });
  return (
    <div className="review-file-tree">
      <div className="review-file-tree-tools">
        <p className="muted small">
          {formatNumber(tree.files)} files, {formatBytes(tree.size)} uncompressed
        </p>
        <button type="button" className="button button-small" onClick={() => setAll((a) => ({ open: true, generation: a.generation + 1 }))}>
          Expand all
        </button>
        <button type="button" className="button button-small" onClick={() => setAll((a) => ({ open: false, generation: a.generation + 1 }))}>
          Collapse all
        </button>
      </div>
      <FolderContents folder={tree} all={all} />
    </div>
  );
}

function FolderContents({ folder, all }: { folder: Folder; all: { open: boolean; generation: number } }) {
  return (
    <ul className="review-file-tree-list">
      {folder.folders.map((child) => (
        <li key={`${child.path}:${all.generation}`}>
          <details open={all.generation === 0 ? folder.path === '' : all.open}>
            <summary>
              <span className="review-file-tree-name">{child.name}/</span>
              <span className="review-file-tree-size">
                {formatNumber(child.files)} file{child.files === 1 ? '' : 's'}, {formatBytes(child.size)}
              </span>
            </summary>
            <FolderContents folder={child} all={all} />
          </details>
        </li>
      ))}
      {folder.entries.map((file) => (
        <li key={file.path} className="review-file-tree-file">
          <span className="review-file-tree-name">{file.name}</span>
          <span className="review-file-tree-size">{formatBytes(file.size)}</span>
        </li>
      ))}
    </ul>
  );
}
