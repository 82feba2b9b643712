// Drives TF Playground's engine (its src/nn.ts compiled to CommonJS by bench/tf_bench.py) the way its
// playground.ts does, and reports CPU time: one JSON command per stdin line, one JSON answer per line.
//   {"cmd": "setup", "shape": [2, 4, 2, 1], "batch": 10, "lr": 0.03, "train": [[x, y, label], ...], "test": [...]}
//   {"cmd": "epoch", "reps": n}  ->  {"cpu_us": per epoch, "wall_us": per epoch}
//   {"cmd": "full", "reps": n}   ->  the same for a whole Step: epoch, train and test loss, the 100x100 maps
// An epoch is oneStep's loop: forwardProp + backProp (square error) per point, updateWeights every `batch`
// points; the maps are updateDecisionBoundary's: forwardProp at each of DENSITY² points and every node's
// output kept. Labels are ±1 (TF's classification), features x and y, tanh everywhere, no regularization.
"use strict";

const readline = require("readline");
const nn = require(process.argv[2]);

const DENSITY = 100; // playground.ts's grid
const DOMAIN = 6;    // its xDomain [-6, 6]

let net = null;
let setup = null;
let boundary = null;

function epoch() {
  const train = setup.train;
  for (let i = 0; i < train.length; i++) {
    const point = train[i];
    nn.forwardProp(net, [point[0], point[1]]);
    nn.backProp(net, point[2], nn.Errors.SQUARE);
    if ((i + 1) % setup.batch === 0) {
      nn.updateWeights(net, setup.lr, 0);
    }
  }
}

function loss(points) {
  let total = 0;
  for (const point of points) {
    total += nn.Errors.SQUARE.error(nn.forwardProp(net, [point[0], point[1]]), point[2]);
  }
  return total / points.length;
}

function maps() {
  let cell = 0;
  for (let i = 0; i < DENSITY; i++) {
    for (let j = 0; j < DENSITY; j++, cell++) {
      const x = -DOMAIN + (2 * DOMAIN * i) / (DENSITY - 1);
      const y = DOMAIN - (2 * DOMAIN * j) / (DENSITY - 1);
      nn.forwardProp(net, [x, y]);
      nn.forEachNode(net, true, (node) => { boundary[node.id][cell] = node.output; });
    }
  }
}

function full() {
  epoch();
  loss(setup.train);
  loss(setup.test);
  maps();
}

function timed(work, reps) {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let r = 0; r < reps; r++) work();
  const used = process.cpuUsage(cpu);
  const wallNs = Number(process.hrtime.bigint() - wall);
  return { cpu_us: (used.user + used.system) / reps, wall_us: wallNs / 1000 / reps };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = JSON.parse(line);
  let answer = {};
  if (command.cmd === "setup") {
    setup = command;
    net = nn.buildNetwork(command.shape, nn.Activations.TANH, nn.Activations.TANH, null, ["x", "y"], false);
    boundary = {};
    nn.forEachNode(net, true, (node) => { boundary[node.id] = new Float64Array(DENSITY * DENSITY); });
  } else if (command.cmd === "epoch") {
    answer = timed(epoch, command.reps);
  } else if (command.cmd === "full") {
    answer = timed(full, command.reps);
  } else if (command.cmd === "quit") {
    process.exit(0);
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
