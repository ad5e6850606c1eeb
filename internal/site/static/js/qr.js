// qr.js: a QR code of a text as an <img> (a data: URL; the page's
// Content-Security-Policy allows data: images), with qrcode-generator.

export function qrImage(text, alt) {
  const qr = window.qrcode(0, 'M'); // the smallest version that holds it
  qr.addData(text);
  qr.make();
  const img = document.createElement('img');
  img.src = qr.createDataURL(4, 2);
  img.alt = alt;
  img.width = 240;
  img.height = 240;
  return img;
}
