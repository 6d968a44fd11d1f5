/** A transport name: the same strings as in the protocol, the server and the Go client. */
export type Transport = "websocket" | "stream" | "poll";
/** Options of PolySock, the third constructor argument (an extension of the WebSocket API). */
export interface Options {
    /** Transports that may be used, tried in the order websocket, stream, poll; unknown names are ignored. Default: all. */
    transports?: readonly Transport[];
    /**
     * Milliseconds an attempt may take to open the session before the next transport is
     * tried, while no connect time is remembered for the origin (then four times that,
     * between 1 and 10 s). The last transport in the list waits up to 30 s. Default 2000.
     */
    timeout?: number;
    /** How long to remember, per origin, which transport worked, in ms; going offline forgets it. 0: never. Default one hour. */
    remember?: number;
    /**
     * How the stream transport reads its response: "fetch" (binary, streams), "eventsource"
     * (SSE, text) or "xhr" (progress events, text). "" picks the first available. Default "".
     */
    stream?: "fetch" | "eventsource" | "xhr" | "";
    /** Log each connection decision to the console. Default false. */
    debug?: boolean;
    /**
     * Reconnection attempts in a row, after the carrier of an open session is lost, before
     * the session is given up (error, then close 1006). Attempts made while the browser is
     * offline do not count. 0: never resume. Default 10.
     */
    retries?: number;
    /** The most a reconnection attempt waits (the cap of the exponential backoff), ms. Default 10000. */
    backoff?: number;
    /**
     * Bytes of messages the client may hold: sent and not yet acknowledged, or queued. A send
     * beyond it fails the session (error, then close 1006, as a native WebSocket whose buffer
     * is full). Default 8 MiB.
     */
    buffer?: number;
    /**
     * How long, in ms, to stay off WebSocket after it died early (failed, or lasted less
     * than 10 s) twice in a row; meanwhile the session uses the next transport and does not
     * probe WebSocket. Default 300000 (5 minutes).
     */
    upgrade?: number;
}
/** The option defaults. Changing them changes the defaults of later PolySocks. */
export declare const DEFAULTS: Required<Options>;
/**
 * The detail of a transport event: the session moved from one transport to another. ""
 * stands for no transport: to "" when the session lost its carrier and is reconnecting,
 * from "" when it resumed on a new carrier (nothing lost).
 */
export interface TransportChange {
    from: Transport | "";
    to: Transport | "";
}
/** The events of a PolySock: those of a WebSocket, and transport. */
export interface PolySockEventMap {
    open: Event;
    message: MessageEvent<string | ArrayBuffer | Blob>;
    error: Event;
    close: CloseEvent;
    /** The open session moved to another transport, lost its carrier (to: "") or resumed (from: ""); not fired at open. */
    transport: CustomEvent<TransportChange>;
}
/** What send takes: the types WebSocket.send takes. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;
type Handler<E> = ((this: PolySock, ev: E) => unknown) | null;
/**
 * A WebSocket-compatible connection to a polysock endpoint. It carries one session over a
 * native WebSocket, an HTTP stream or long-polling, whichever works, with the WebSocket
 * API: the same attributes, events, event order and exceptions. A lost carrier is
 * replaced without the page noticing: the session resumes on a new one, and a session on
 * stream or poll moves onto WebSocket when it gets through (the transport event).
 */
export declare class PolySock extends EventTarget {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    /** The endpoint's URL in its ws: or wss: form. */
    readonly url: string;
    /** The subprotocol the server chose, "" until the session opens or when none. */
    readonly protocol: string;
    /** Always "": no extensions are negotiated. */
    readonly extensions: string;
    onopen: Handler<Event>;
    onmessage: Handler<MessageEvent<string | ArrayBuffer | Blob>>;
    onerror: Handler<Event>;
    onclose: Handler<CloseEvent>;
    /**
     * Connects to url (ws, wss, http, https or relative to the document) offering the given
     * subprotocols, as new WebSocket(url, protocols) does and with its exceptions.
     * options: see Options and DEFAULTS.
     */
    constructor(url: string | URL, protocols?: string | readonly string[], options?: Options);
    /** CONNECTING, OPEN, CLOSING or CLOSED. */
    get readyState(): number;
    /**
     * Bytes passed to send that have not been handed to the network yet, as on WebSocket:
     * messages queued (also while reconnecting), plus the WebSocket carrier's own buffer.
     * Messages sent and not yet acknowledged, which are kept for a resume, do not count.
     */
    get bufferedAmount(): number;
    /** The transport carrying the session: "websocket", "stream" or "poll"; "" until it opens and while it reconnects. */
    get transport(): Transport | "";
    /** How binary messages are delivered: "blob" (the default) or "arraybuffer". */
    get binaryType(): BinaryType;
    set binaryType(t: BinaryType);
    /**
     * Sends a message, as WebSocket.send: a string as text, anything else as binary (a Blob
     * is read first, in order). InvalidStateError while CONNECTING; while reconnecting the
     * message waits for the next carrier; after close, the data only adds to bufferedAmount.
     * A message that would take the client's buffer past options.buffer fails the session.
     */
    send(data: SendData): void;
    /**
     * Closes the session, as WebSocket.close: code 1000 or 3000–4999
     * (InvalidAccessError), reason at most 123 bytes of UTF-8 (SyntaxError). Messages sent
     * before are delivered first.
     */
    close(code?: number, reason?: string): void;
    /**
     * Installs PolySock as the global WebSocket when there is none, or always with force.
     * Returns whether it did. The native WebSocket is still used as a transport.
     */
    static polyfill(options?: {
        force?: boolean;
    }): boolean;
}
/** The readyState constants, on the class and its instances, as on WebSocket. */
export interface PolySock {
    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSING: 2;
    readonly CLOSED: 3;
    addEventListener<K extends keyof PolySockEventMap>(type: K, listener: (this: PolySock, ev: PolySockEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
    addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
    removeEventListener<K extends keyof PolySockEventMap>(type: K, listener: (this: PolySock, ev: PolySockEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
export {};
