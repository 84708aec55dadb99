// Types of build-state.js, for the TypeScript that reads it (tests/build, bench).
export declare const ROOT: string;
export declare const DIST: string;
export declare const CURRENT: string;
export declare const BUILD_SCRIPT: string;
export declare const SOURCE_DIRS: readonly string[];
export interface Build {
  readonly dir: string;
  readonly startedAtMs: number;
}
export declare function currentBuild(): Build | null;
export declare function newestSource(): { file: string; mtimeMs: number } | null;
export declare function rebuildReason(build?: Build | null): string | null;
