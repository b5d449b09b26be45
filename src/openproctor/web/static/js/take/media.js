// Camera, microphone and the shared screen: opened once, shared by the check, the enrolment,
// the room scan and the exam.
let camera = null; // MediaStream with one video track
let microphone = null; // MediaStream with one audio track
const video = document.createElement("video");
video.muted = true;
video.playsInline = true;

// Plain-language reasons for getUserMedia failures, by DOMException name.
function explain(error, device) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `Your browser is not allowing this page to use your ${device}. Click the camera or lock icon in the address bar, choose "Allow", then press "Check again".`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `We could not find a ${device}. Plug one in (or switch it on), then press "Check again".`;
    case "NotReadableError":
    case "AbortError":
      return `Your ${device} seems to be in use by another program (for example a video call). Close that program, then press "Check again".`;
    default:
      return `We could not start your ${device}${error?.message ? ` (${error.message})` : ""}. Press "Check again"; if it keeps happening, try restarting your browser.`;
  }
}

function live(stream) {
  return stream?.getTracks().some((track) => track.readyState === "live");
}

export async function openCamera({ width = 640, height = 480 } = {}) {
  if (live(camera)) return camera;
  try {
    camera = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: width }, height: { ideal: height }, facingMode: "user" },
    });
  } catch (error) {
    throw new Error(explain(error, "camera"));
  }
  video.srcObject = camera;
  await video.play().catch(() => {});
  if (!video.videoWidth) {
    await new Promise((resolve) => {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      setTimeout(resolve, 3000);
    });
  }
  if (!video.videoWidth) throw new Error("Your camera started but shows no picture. Check that nothing covers it, then press \"Check again\".");
  return camera;
}

export async function openMicrophone() {
  if (live(microphone)) return microphone;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false },
    });
  } catch (error) {
    throw new Error(explain(error, "microphone"));
  }
  return microphone;
}

// The whole screen, for exams that record it. Must be called from a click (browsers only
// show the picker after one). Refuses a window or a tab: the whole screen is needed.
let screen = null;

export async function openScreen() {
  if (live(screen)) return screen;
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({
      video: { displaySurface: "monitor", frameRate: { ideal: 5, max: 10 } },
      audio: false,
      monitorTypeSurfaces: "include",
      selfBrowserSurface: "exclude",
      surfaceSwitching: "exclude",
    });
  } catch (error) {
    if (error?.name === "NotAllowedError") {
      throw new Error("Screen sharing was cancelled or is blocked. Press the button again and choose \"Entire screen\". If no window appears, check that your browser (and, on a Mac, System Settings → Privacy → Screen Recording) allows it.");
    }
    throw new Error(`Your screen could not be shared${error?.message ? ` (${error.message})` : ""}. Please try again.`);
  }
  const surface = stream.getVideoTracks()[0]?.getSettings().displaySurface;
  if (surface && surface !== "monitor") {
    stream.getTracks().forEach((track) => track.stop());
    throw new Error("Please share your entire screen, not a single window or tab. Press the button again and choose \"Entire screen\".");
  }
  screen = stream;
  return screen;
}

export const screenStream = () => (live(screen) ? screen : null);

export const cameraStream = () => camera;
export const microphoneStream = () => microphone;
export const cameraSize = () => ({ width: video.videoWidth, height: video.videoHeight });

// Shows the camera in a <video> element of the page.
export function attachPreview(element) {
  element.muted = true;
  element.playsInline = true;
  element.srcObject = camera;
  element.play().catch(() => {});
}

const canvas = document.createElement("canvas");

// One JPEG of the current camera picture, scaled down (never up) to fit width x height.
export function captureJpeg({ width = 640, height = 480, quality = 0.7 } = {}) {
  const sourceWidth = video.videoWidth;
  const sourceHeight = video.videoHeight;
  if (!sourceWidth || !sourceHeight) return Promise.resolve(null);
  const scale = Math.min(width / sourceWidth, height / sourceHeight, 1);
  canvas.width = Math.round(sourceWidth * scale);
  canvas.height = Math.round(sourceHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

export function stopAll() {
  for (const stream of [camera, microphone, screen]) stream?.getTracks().forEach((track) => track.stop());
  camera = microphone = screen = null;
  video.srcObject = null;
}
