export { checkCnUscc, USCC_CHARSET, usccCheckCharacter } from './cn-uscc.js';
export {
  CONTAINER_PATTERN,
  checkContainerNumber,
  containerCheckDigit,
  normaliseContainerNumber,
} from './container.js';
export { checkDate, INSTANT_PATTERN, parseInstant } from './dates.js';
export { checkDecimal, type DecimalRule, decimalFromInput } from './decimal.js';
export { CN_DECLARATION, checkDeclarationNumber, EAEU_DECLARATION } from './declaration.js';
export { checkHsCode } from './hs-code.js';
export { checkKzBin, kzBinCheckDigit } from './kz-bin.js';
export { checkRuInn } from './ru-inn.js';
export { checkWagonNumber, type WagonCheck, wagonCheckDigit } from './wagon.js';
