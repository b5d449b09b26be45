// Every staff page: exam times also in the reader's own zone where it differs.
import { showReaderTimes } from "./lib/format.js";

showReaderTimes();
