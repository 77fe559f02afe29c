import { describe, expect, it } from 'vitest';
import { normalizePhone } from '../../main/connectors/passteam/phone.ts';

describe('Russian phone numbers in any 1C spelling', () => {
  it.each([
    ['8 (987) 654-32-10', '+79876543210'],
    ['+7 987 654 32 10', '+79876543210'],
    ['9876543210', '+79876543210'],
    ['79876543210', '+79876543210'],
    ['+7(987)654-32-10', '+79876543210'],
    ['8-987-654-32-10', '+79876543210'],
    ['8\u00a0987\u00a0654\u00a032\u00a010', '+79876543210'],
    ['  +7 (987) 654-32-10 доб. 123 ', '+79876543210'],
    ['8 (495) 123-45-67', '+74951234567'],
    ['+375 29 123-45-67', '+375291234567'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });

  it.each(['', '12345', 'Иванов', '+7 987 654', '8 (987) 654-32-10-99', 'not a phone'])('refuses %j', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });
});
