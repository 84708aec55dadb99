// Files as Slack's upload flow makes them: files.getUploadURLExternal reserves an id and an upload URL, the
// bytes are POSTed there, files.completeUploadExternal shares the file (once). The fake keeps the bytes so that
// a test can compare them and the playground can show the picture (GET /files/<id>).

/** A file as a shared message lists it (`files[]` of conversations.history / replies). */
export interface SharedFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  size: number;
  url_private: string;
  url_private_download: string;
  alt_txt?: string;
  original_w?: number;
  original_h?: number;
}

export interface UploadedFile {
  id: string;
  filename: string;
  /** The `length` files.getUploadURLExternal was given. */
  length: number;
  altTxt?: string;
  /** What was POSTed to the upload URL (the last upload); undefined until then. */
  bytes?: Buffer;
  completed: boolean;
  /** Set by completion: the title it was given. */
  title?: string;
  /** The fake forgot the upload (`expireUpload`): completing it answers `file_not_found`, as an expired ticket would. */
  expired: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG's width and height from its IHDR chunk (right after the signature), or undefined for anything else. */
export function pngDimensions(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  txt: 'text/plain',
  json: 'application/json',
  csv: 'text/csv',
};

/** What Slack reports a file as: PNG bytes are a png whatever their name, otherwise the name's extension decides. */
export function fileKind(filename: string, bytes: Buffer): { filetype: string; mimetype: string } {
  if (pngDimensions(bytes)) return { filetype: 'png', mimetype: 'image/png' };
  const extension = filename.includes('.') ? filename.split('.').pop()!.toLowerCase() : '';
  const mimetype = MIME_BY_EXTENSION[extension];
  return mimetype ? { filetype: extension === 'jpeg' ? 'jpg' : extension, mimetype } : { filetype: 'binary', mimetype: 'application/octet-stream' };
}

export class FileStore {
  private readonly byId = new Map<string, UploadedFile>();

  reserve(file: { id: string; filename: string; length: number; altTxt?: string }): UploadedFile {
    const stored: UploadedFile = { ...file, completed: false, expired: false };
    this.byId.set(file.id, stored);
    return stored;
  }

  /** The live record (the fake's methods change it); hand copies to tests. */
  get(id: string): UploadedFile | undefined {
    return this.byId.get(id);
  }

  all(): UploadedFile[] {
    return [...this.byId.values()];
  }

  clear(): void {
    this.byId.clear();
  }
}

/** The `files[]` entry of a share of `file`, its URLs on the fake's own server. */
export function sharedFile(file: UploadedFile, baseUrl: string): SharedFile {
  const bytes = file.bytes ?? Buffer.alloc(0);
  const dimensions = pngDimensions(bytes);
  return {
    id: file.id,
    name: file.filename,
    title: file.title ?? file.filename,
    ...fileKind(file.filename, bytes),
    size: bytes.length,
    url_private: `${baseUrl}/files/${file.id}`,
    url_private_download: `${baseUrl}/files/${file.id}?download=1`,
    ...(file.altTxt !== undefined && { alt_txt: file.altTxt }),
    ...(dimensions && { original_w: dimensions.width, original_h: dimensions.height }),
  };
}
