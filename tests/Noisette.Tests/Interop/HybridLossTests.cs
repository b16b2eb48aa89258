using Noisette.Diffusion;
using static TorchSharp.torch;

namespace Noisette.Tests.Interop;

/// <summary>The learned-variance (improved DDPM) loss terms in <see cref="GaussianDiffusion"/>.</summary>
public sealed class HybridLossTests
{
    private static readonly GaussianDiffusion Learned = new(new DiffusionConfig { LearnSigma = true });

    [Fact]
    public void TheVariationalBoundTermVanishesForTheTruePosterior()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var x0 = rand(new long[] { 3, 3, 8, 8 }, generator: gen) * 1.6 - 0.8;
        var noise = randn(new long[] { 3, 3, 8, 8 }, generator: gen);
        var t = tensor(new long[] { 1, 400, 999 });
        var xt = Learned.QSample(x0, t, noise);
        // ε exact and v = −1 (the posterior variance β̃): p equals q, so every KL term is zero.
        var output = cat([noise, full_like(noise, -1.0)], 1);
        var vb = Learned.VariationalBoundTerm(x0, xt, t, output).data<float>().ToArray();
        Assert.All(vb, v => Assert.InRange(v, -1e-4, 1e-4));
        // A wrong variance (β instead of β̃) costs bits, most where the two differ most: early timesteps.
        var wrong = Learned.VariationalBoundTerm(x0, xt, t, cat([noise, full_like(noise, 1.0)], 1)).data<float>().ToArray();
        Assert.All(wrong, v => Assert.True(v >= 0, $"{v}"));
        Assert.True(wrong[0] > 0.1 && wrong[0] > wrong[1] && wrong[1] > wrong[2], string.Join(", ", wrong));

        // At t = 0 the term is the decoder's negative log-likelihood in bits per dimension: positive, finite.
        var t0 = zeros(3, dtype: int64);
        var nll = Learned.VariationalBoundTerm(x0, Learned.QSample(x0, t0, noise), t0, output).data<float>().ToArray();
        Assert.All(nll, v => Assert.True(v > 0 && float.IsFinite(v), $"{v}"));
    }

    [Fact]
    public void TheBoundTrainsOnlyTheVarianceChannels()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(4);
        var x0 = rand(new long[] { 2, 3, 8, 8 }, generator: gen) * 2 - 1;
        var noise = randn(new long[] { 2, 3, 8, 8 }, generator: gen);
        var t = tensor(new long[] { 0, 600 });
        var output = randn(new long[] { 2, 6, 8, 8 }, generator: gen).requires_grad_();
        Learned.Loss(output, x0, noise, t).sum().backward();
        var grad = output.grad!.chunk(2, 1);

        // The mean channels get exactly the gradient of the plain MSE: the bound's gradient is stopped there.
        var plain = new GaussianDiffusion(new DiffusionConfig());
        var mean = output.detach().chunk(2, 1)[0].clone().requires_grad_();
        plain.Loss(mean, x0, noise, t).sum().backward();
        Assert.True(grad[0].allclose(mean.grad!, rtol: 1e-5, atol: 1e-7));
        // The variance channels learn from the bound alone.
        Assert.True(grad[1].abs().sum().item<float>() > 0);

        // The total is MSE + bound term (T = 1000, so λ·T = 1).
        using var _ = no_grad();
        var total = Learned.Loss(output, x0, noise, t);
        var parts = plain.Loss(output.chunk(2, 1)[0], x0, noise, t) + Learned.VariationalBoundTerm(x0, Learned.QSample(x0, t, noise), t, output);
        Assert.True(total.allclose(parts, rtol: 1e-5, atol: 1e-6));
    }
}
