/**
 * The manifest: the customs information a lock carries (MANIFEST.md §3). Field names are
 * the CBOR map keys. The composition follows the EAEU traceability agreement, Art. 8 p. 3;
 * the numbers in the comments are its sub-paragraphs.
 */

/** Current schema version, the "v" of the payload. */
export const MANIFEST_VERSION = 1;

/**
 * In the clear inside the signed structure, so a gateway indexes and syncs a manifest
 * without decrypting it (DESIGN.md §4).
 */
export interface ManifestRouting {
  /** Id of the safe and smart lock closing the container. */
  lockId: string;
  /** ISO 6346 container number, check digit verified. */
  container: string;
  /** Wagon number: 8 digits with check digit on the 1520 network. */
  wagon: string;
  /** Train or consist number. */
  train: string;
  /** Departure station code (ESR on the 1520 network, the railway's own code in China). */
  departure: string;
  /** Destination station code. */
  destination: string;
  /** ISO 3166-1 alpha-2 of the country of departure (Art. 8 p. 3 sub. 1). */
  departureCountry: string;
  /** ISO 3166-1 alpha-2 of the country of destination (sub. 3). */
  destinationCountry: string;
  /** Countries crossed in transit, in order; absent when none. */
  transitCountries?: string[];
  /** When the issuing customs office created (signed) the manifest, ms since the epoch. */
  createdAt: number;
  /** The customs office that issued it, e.g. "KZ 55201 Dostyk customs post". */
  issuingAuthority: string;
}

/** A party to the movement: Art. 8 p. 3 sub. 2 (consignor) and sub. 4 (consignee). */
export interface Party {
  /** Name, or surname, first name and patronymic of an individual. */
  name: string;
  /** Location (registered address or residence). */
  address: string;
  /** ISO 3166-1 alpha-2; decides how `id` is checked. */
  country: string;
  /** KZ: 12-digit BIN/IIN; CN: 18-character USCC; RU: INN; elsewhere the national number. */
  id: string;
}

/** The accompanying / transport document, sub. 5. */
export interface TransportDocument {
  /** Kind of document, e.g. "CIM/SMGS", "SMGS", "CMR". */
  type: string;
  number: string;
  /** YYYY-MM-DD. */
  date: string;
}

/** One goods line of the accompanying document (sub. 6–14, 19, 20). */
export interface GoodsLine {
  /** Line number in the accompanying document, 1…n in order (sub. 6). */
  line: number;
  /** Name of the goods as in the document (sub. 7). */
  name: string;
  /** 10-digit commodity code (sub. 20). */
  hs: string;
  /** Quantity in `unit`, a decimal string (sub. 8–9). */
  quantity: string;
  /** UN/ECE Rec. 20 code of the document's unit (sub. 8). */
  unit: string;
  /** Quantity in the additional (supplementary) unit of the tariff (sub. 10–11). */
  supplementaryQuantity?: string;
  supplementaryUnit?: string;
  /** Gross weight in kilograms, a decimal string with up to 3 decimals (grams). */
  grossWeightKg: string;
  /** Customs value as a decimal string in `currency`, at most its minor-unit digits. */
  value: string;
  /** ISO 4217. */
  currency: string;
  /** Country of origin, ISO 3166-1 alpha-2. */
  origin: string;
  /** Registration number of the goods declaration (sub. 12). */
  declarationNumber?: string;
  /** Item number in that declaration (sub. 13). */
  declarationItem?: number;
  /** Identification numbers marked on the goods units (sub. 19). */
  ids?: string[];
}

/** What only the customs recipients can read. */
export interface GoodsBody {
  consignor: Party;
  consignee: Party;
  document: TransportDocument;
  /** Place of delivery or unloading per the accompanying documents (sub. 16). */
  deliveryPlace?: string;
  goods: GoodsLine[];
}

export interface Manifest {
  routing: ManifestRouting;
  body: GoodsBody;
}

/** One recipient's copy of the content key (MANIFEST.md §5). */
export interface WrappedKey {
  kid: string;
  /** Ephemeral X25519 public key of the sender, 32 bytes. */
  epk: Uint8Array;
  /** nacl.box nonce, 24 bytes. */
  nonce: Uint8Array;
  /** nacl.box(contentKey): 32 + 16 bytes. */
  wrappedKey: Uint8Array;
}

/** The encrypted goods body. */
export interface SealedBody {
  alg: typeof SEALED_ALG;
  /** nacl.secretbox nonce, 24 bytes. */
  nonce: Uint8Array;
  /** nacl.secretbox(deterministic CBOR of the GoodsBody, nonce, contentKey). */
  ciphertext: Uint8Array;
  recipients: WrappedKey[];
}

export const SEALED_ALG = 'X25519-XSalsa20-Poly1305';

/** The COSE_Sign1 payload: routing in the clear, goods body sealed. */
export interface ManifestPayload {
  v: typeof MANIFEST_VERSION;
  routing: ManifestRouting;
  sealed: SealedBody;
}

/** An unsigned, unencrypted manifest as `manifest compose` writes it; never leaves the issuer. */
export interface ManifestDraft {
  v: typeof MANIFEST_VERSION;
  routing: ManifestRouting;
  body: GoodsBody;
}
