/**
 * Russian phone numbers in any spelling 1C users type (`8 (987) 654-32-10`, `+7 987 654 32 10`,
 * `9876543210`, `7-987-654-32-10`) → `+7XXXXXXXXXX`, so Passteam's unique-phone check sees one
 * number as one value. Foreign numbers written with `+` keep their digits. Null when it is not a phone.
 */
export function normalizePhone(input: string): string | null {
  // "8 912 345-67-89, доб. 12" or two numbers "…; …": the first number is the card's.
  const text = input.split(/[,;]/)[0].trim();
  if (text === '') return null;
  if (/[^\d\s()+\-.\u00a0]/.test(text.replace(/(доб|ext|x)\.?\s*\d+$/i, ''))) return null;
  const main = text.replace(/(доб|ext|x)\.?\s*\d+$/i, '');
  const digits = main.replace(/\D/g, '');
  const plus = main.startsWith('+');
  if (digits.length === 10 && !plus) return `+7${digits}`;
  if (digits.length === 11 && (digits[0] === '7' || (digits[0] === '8' && !plus))) return `+7${digits.slice(1)}`;
  if (plus && digits.length >= 8 && digits.length <= 15 && digits[0] !== '7') return `+${digits}`;
  return null;
}
