import { stripVTControlCharacters } from 'node:util';

/** Terminal control sequences and other control characters (tab and line ends aside) removed, for text shown outside a terminal. */
export function plainText(text: string): string {
  return stripVTControlCharacters(text).replace(/[^\P{Cc}\t\n\r]/gu, '');
}
