//! The DNN workloads of the continuous-learning scenarios as GEMMs: ResNet-18/34,
//! WideResNet-50-2/101-2 (torchvision's layer structure) and ViT-B/32, ViT-B/16, at 224 x 224,
//! for any batch and class count. Convolutions are im2col GEMMs; ViT adds the QKV and output
//! projections and both attention matmuls per head. Elementwise work (batch-norm, ReLU,
//! pooling, softmax, layer-norm) is not a GEMM and not listed.

/// The networks, by torchvision's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    ResNet18,
    ResNet34,
    WideResNet50_2,
    WideResNet101_2,
    VitB32,
    VitB16,
}

impl Model {
    pub const ALL: [Model; 6] = [
        Model::ResNet18,
        Model::ResNet34,
        Model::WideResNet50_2,
        Model::WideResNet101_2,
        Model::VitB32,
        Model::VitB16,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Model::ResNet18 => "resnet18",
            Model::ResNet34 => "resnet34",
            Model::WideResNet50_2 => "wide_resnet50_2",
            Model::WideResNet101_2 => "wide_resnet101_2",
            Model::VitB32 => "vit_b_32",
            Model::VitB16 => "vit_b_16",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Model> {
        crate::named::by_name(&Model::ALL, Model::name, name, ("model", "models"))
    }
}

/// One GEMM of a forward pass: A (m x k, activations) times B (k x n, weights or the other
/// activation), `count` times (heads x batch for attention).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gemm {
    pub layer: String,
    pub m: u64,
    pub k: u64,
    pub n: u64,
    pub count: u64,
}

impl Gemm {
    pub fn macs(&self) -> u64 {
        self.m * self.k * self.n * self.count
    }

    /// The three GEMMs of training this layer: forward, input gradient (dX = dY W^T, m x n x k)
    /// and weight gradient (dW = X^T dY, k x m x n), each blocked along its own reduction axis.
    pub fn training(&self) -> [Gemm; 3] {
        let g = |suffix: &str, m, k, n| Gemm {
            layer: format!("{}.{suffix}", self.layer),
            m,
            k,
            n,
            count: self.count,
        };
        [
            g("forward", self.m, self.k, self.n),
            g("input_grad", self.m, self.n, self.k),
            g("weight_grad", self.k, self.m, self.n),
        ]
    }
}

/// A network's forward GEMMs and its parameter count.
#[derive(Clone, Debug)]
pub struct Network {
    pub model: Model,
    pub gemms: Vec<Gemm>,
    pub params: u64,
}

impl Network {
    pub fn macs(&self) -> u64 {
        self.gemms.iter().map(Gemm::macs).sum()
    }
}

/// Builds a network's GEMM list while counting parameters.
struct Builder {
    batch: u64,
    gemms: Vec<Gemm>,
    params: u64,
}

impl Builder {
    /// A k x k convolution, `cin` to `cout` channels, on a `size` x `size` input, no bias, then
    /// batch-norm (2 parameters per channel). Returns the output size.
    fn conv_bn(&mut self, layer: String, size: u64, cin: u64, cout: u64, k: u64, stride: u64) -> u64 {
        let out = (size + 2 * (k / 2) - k) / stride + 1;
        self.gemms.push(Gemm { layer, m: self.batch * out * out, k: cin * k * k, n: cout, count: 1 });
        self.params += cin * k * k * cout + 2 * cout;
        out
    }

    /// A GEMM without parameters, `per_sample` times per sample (attention per head).
    fn batched(&mut self, layer: String, m: u64, k: u64, n: u64, per_sample: u64) {
        self.gemms.push(Gemm { layer, m, k, n, count: per_sample * self.batch });
    }

    /// A linear layer with bias on `rows` rows per sample.
    fn linear(&mut self, layer: String, rows: u64, cin: u64, cout: u64) {
        self.gemms.push(Gemm { layer, m: self.batch * rows, k: cin, n: cout, count: 1 });
        self.params += cin * cout + cout;
    }
}

/// The forward GEMMs of `model` for `batch` images of 224 x 224 and `classes` outputs.
pub fn network(model: Model, batch: u64, classes: u64) -> Network {
    let mut b = Builder { batch, gemms: Vec::new(), params: 0 };
    match model {
        Model::ResNet18 => resnet(&mut b, &[2, 2, 2, 2], false, classes),
        Model::ResNet34 => resnet(&mut b, &[3, 4, 6, 3], false, classes),
        Model::WideResNet50_2 => resnet(&mut b, &[3, 4, 6, 3], true, classes),
        Model::WideResNet101_2 => resnet(&mut b, &[3, 4, 23, 3], true, classes),
        Model::VitB32 => vit(&mut b, 32, classes),
        Model::VitB16 => vit(&mut b, 16, classes),
    }
    Network { model, gemms: b.gemms, params: b.params }
}

/// torchvision's ResNet: basic blocks, or wide bottleneck blocks (width 2 x planes, output
/// 4 x planes); a 1 x 1 downsample where the shape changes.
fn resnet(b: &mut Builder, blocks: &[u64; 4], wide_bottleneck: bool, classes: u64) {
    let mut size = b.conv_bn("conv1".into(), 224, 3, 64, 7, 2);
    size = (size + 2 - 3) / 2 + 1; // 3 x 3 max-pool, stride 2, padding 1
    let mut cin = 64;
    for (stage, &count) in blocks.iter().enumerate() {
        let planes = 64 << stage;
        for block in 0..count {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let name = |part: &str| format!("layer{}.{block}.{part}", stage + 1);
            let (out, next) = if wide_bottleneck {
                let width = 2 * planes;
                b.conv_bn(name("conv1"), size, cin, width, 1, 1);
                let next = b.conv_bn(name("conv2"), size, width, width, 3, stride);
                b.conv_bn(name("conv3"), next, width, 4 * planes, 1, 1);
                (4 * planes, next)
            } else {
                let next = b.conv_bn(name("conv1"), size, cin, planes, 3, stride);
                b.conv_bn(name("conv2"), next, planes, planes, 3, 1);
                (planes, next)
            };
            if stride != 1 || cin != out {
                b.conv_bn(name("downsample"), size, cin, out, 1, stride);
            }
            cin = out;
            size = next;
        }
    }
    b.linear("fc".into(), 1, cin, classes);
}

/// torchvision's ViT-B/p: 12 layers, hidden 768, 12 heads, MLP 3072, a class token.
fn vit(b: &mut Builder, patch: u64, classes: u64) {
    let (hidden, heads, mlp, layers) = (768, 12, 3072, 12);
    let patches = (224 / patch) * (224 / patch);
    let tokens = patches + 1;
    b.linear("conv_proj".into(), patches, 3 * patch * patch, hidden);
    b.params += hidden + tokens * hidden; // class token, position embedding
    for l in 0..layers {
        let name = |part: &str| format!("encoder.layer{l}.{part}");
        b.params += 2 * hidden; // ln_1
        b.linear(name("qkv"), tokens, hidden, 3 * hidden);
        let head_dim = hidden / heads;
        b.batched(name("scores"), tokens, head_dim, tokens, heads);
        b.batched(name("context"), tokens, tokens, head_dim, heads);
        b.linear(name("out_proj"), tokens, hidden, hidden);
        b.params += 2 * hidden; // ln_2
        b.linear(name("mlp1"), tokens, hidden, mlp);
        b.linear(name("mlp2"), tokens, mlp, hidden);
    }
    b.params += 2 * hidden; // final layer norm
    b.linear("heads".into(), 1, hidden, classes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torchvision's published parameter counts and GFLOPS (multiply-accumulates, 1000 classes).
    const PUBLISHED: [(Model, u64, f64); 6] = [
        (Model::ResNet18, 11_689_512, 1.81),
        (Model::ResNet34, 21_797_672, 3.66),
        (Model::WideResNet50_2, 68_883_240, 11.40),
        (Model::WideResNet101_2, 126_886_696, 22.75),
        (Model::VitB32, 88_224_232, 4.41),
        (Model::VitB16, 86_567_656, 17.56),
    ];

    #[test]
    fn layer_lists_match_the_published_counts() {
        for (model, params, gmacs) in PUBLISHED {
            let net = network(model, 1, 1000);
            assert_eq!(net.params, params, "{} parameters", model.name());
            let macs = net.macs() as f64 / 1e9;
            assert!((macs - gmacs).abs() < 0.006, "{}: {macs:.4} GMACs, published {gmacs}", model.name());
        }
    }

    #[test]
    fn batch_and_classes_scale_as_they_should() {
        for model in Model::ALL {
            let one = network(model, 1, 9);
            let sixteen = network(model, 16, 9);
            assert_eq!(sixteen.macs(), 16 * one.macs(), "{}", model.name());
            assert_eq!(one.params, sixteen.params);
            let head = if matches!(model, Model::VitB32 | Model::VitB16) {
                768
            } else if matches!(model, Model::ResNet18 | Model::ResNet34) {
                512
            } else {
                2048
            };
            assert_eq!(
                network(model, 1, 1000).params - one.params,
                (1000 - 9) * (head + 1),
                "{}",
                model.name()
            );
        }
    }

    #[test]
    fn training_gemms_transpose_the_forward_one() {
        let g = Gemm { layer: "x".into(), m: 5, k: 7, n: 3, count: 2 };
        let [f, dx, dw] = g.training();
        assert_eq!((f.m, f.k, f.n), (5, 7, 3));
        assert_eq!((dx.m, dx.k, dx.n), (5, 3, 7));
        assert_eq!((dw.m, dw.k, dw.n), (7, 5, 3));
        assert!([f, dx, dw].iter().all(|x| x.macs() == g.macs()));
    }

    #[test]
    fn names_parse() {
        assert_eq!(Model::parse("vit_b_16").unwrap(), Model::VitB16);
        assert_eq!(
            Model::parse("resnet50").unwrap_err().to_string(),
            "unknown model 'resnet50'; the models are resnet18, resnet34, wide_resnet50_2, wide_resnet101_2, vit_b_32, vit_b_16"
        );
    }
}
