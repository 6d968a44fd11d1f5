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
    /** How long to remember, per origin, which transport worked, in ms. 0: never. Default one hour. */
    remember?: number;
    /**
     * How the stream transport reads its response: "fetch" (binary, streams), "eventsource"
     * (SSE, text) or "xhr" (progress events, text). "" picks the first available. Default "".
     */
    stream?: "fetch" | "eventsource" | "xhr" | "";
    /** Log each connection decision to the console. Default false. */
    debug?: boolean;
}
/** The option defaults. Changing them changes the defaults of later PolySocks. */
export declare const DEFAULTS: Required<Options>;
/** The events of a PolySock, as those of a WebSocket. */
export interface PolySockEventMap {
    open: Event;
    message: MessageEvent<string | ArrayBuffer | Blob>;
    error: Event;
    close: CloseEvent;
}
/** What send takes: the types WebSocket.send takes. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;
type Handler<E> = ((this: PolySock, ev: E) => unknown) | null;
/**
 * A WebSocket-compatible connection to a polysock endpoint. It carries one session over a
 * native WebSocket, an HTTP stream or long-polling, whichever works, with the WebSocket
 * API: the same attributes, events, event order and exceptions.
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
    /** Bytes passed to send that have not reached the network. */
    get bufferedAmount(): number;
    /** How binary messages are delivered: "blob" (the default) or "arraybuffer". */
    get binaryType(): BinaryType;
    set binaryType(t: BinaryType);
    /**
     * Sends a message, as WebSocket.send: a string as text, anything else as binary (a Blob
     * is read first, in order). InvalidStateError while CONNECTING; after close, the data
     * only adds to bufferedAmount.
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
