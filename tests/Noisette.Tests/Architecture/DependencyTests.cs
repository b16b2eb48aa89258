using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Noisette.Tests.Architecture;

/// <summary>
/// Which way the library's parts depend on one another, read from the compiled assembly (Mono.Cecil): every type a
/// type names in its signatures, attributes and method bodies counts, so a fully qualified name or a lambda cannot
/// hide a dependency that a look at the using directives would miss.
/// </summary>
public sealed class DependencyTests
{
    private static readonly Lazy<Dictionary<string, HashSet<string>>> Graph = new(ReadGraph);

    [Theory]
    [InlineData("Models")]
    [InlineData("Diffusion")]
    [InlineData("Sampling")]
    [InlineData("Training")]
    [InlineData("Runs")]
    [InlineData("IO")]
    [InlineData("Data")]
    public void LowerPartsDoNotReachUpToPipelines(string part) =>
        Assert.DoesNotContain("Pipelines", Graph.Value.GetValueOrDefault(part) ?? []);

    [Fact]
    public void TheLibraryReferencesNeitherFace()
    {
        using var module = ModuleDefinition.ReadModule(typeof(Noisette.NoisetteInputException).Assembly.Location);
        Assert.DoesNotContain(module.AssemblyReferences, a => a.Name is "Noisette.Cli" or "Noisette.Studio");
    }

    [Fact]
    public void ThePartsFormNoCycle()
    {
        var graph = Graph.Value;
        var cycles = new List<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
            if (PathBack(graph, start) is { } path) cycles.Add(string.Join(" -> ", path));
        Assert.True(cycles.Count == 0, "namespace cycles:\n" + string.Join("\n", cycles) + "\n\nthe graph:\n" + Describe(graph));
    }

    [Fact]
    public void TheGraphSeesAKnownDependency()
    {
        // The reader must see what is certainly there, or every assertion above would hold vacuously.
        var graph = Graph.Value;
        Assert.Contains("Diffusion", graph["Sampling"]);
        Assert.Contains("Runs", graph["Training"]);
        Assert.Contains("IO", graph["Runs"]);
    }

    /// <summary>A shortest path from a part back to itself, or null.</summary>
    private static List<string>? PathBack(Dictionary<string, HashSet<string>> graph, string start)
    {
        var parent = new Dictionary<string, string>();
        var queue = new Queue<string>(graph.GetValueOrDefault(start) ?? []);
        foreach (var n in queue) parent[n] = start;
        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            if (n == start)
            {
                var path = new List<string> { start };
                for (var p = parent[start]; p != start; p = parent[p]) path.Insert(0, p);
                path.Insert(0, start);
                return path;
            }
            foreach (var m in graph.GetValueOrDefault(n) ?? [])
                if (parent.TryAdd(m, n)) queue.Enqueue(m);
        }
        return null;
    }

    private static string Describe(Dictionary<string, HashSet<string>> graph) =>
        string.Join("\n", graph.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value.Order(StringComparer.Ordinal))}"));

    /// <summary>Part (the namespace below Noisette, "" for Noisette itself) to the parts its types use.</summary>
    private static Dictionary<string, HashSet<string>> ReadGraph()
    {
        using var module = ModuleDefinition.ReadModule(typeof(Noisette.NoisetteInputException).Assembly.Location);
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in module.GetTypes())
        {
            if (PartOf(type) is not { } from || from.Length == 0) continue;
            var uses = graph.TryGetValue(from, out var set) ? set : graph[from] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var used in Referenced(type))
                if (PartOf(used) is { Length: > 0 } to && to != from) uses.Add(to);
        }
        return graph;
    }

    /// <summary>The library part a type belongs to (nested and compiler-generated types count as their outer type's).</summary>
    private static string? PartOf(TypeReference type)
    {
        while (type is TypeSpecification spec) type = spec.ElementType;
        while (type.DeclaringType is not null) type = type.DeclaringType;
        var ns = type.Namespace;
        if (type.Scope?.Name is { } scope && scope != "Noisette" && scope != "Noisette.dll") return null;
        if (ns == "Noisette") return "";
        if (!ns.StartsWith("Noisette.", StringComparison.Ordinal)) return null;
        var rest = ns["Noisette.".Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static IEnumerable<TypeReference> Referenced(TypeDefinition type)
    {
        if (type.BaseType is not null) foreach (var t in Expand(type.BaseType)) yield return t;
        foreach (var i in type.Interfaces) foreach (var t in Expand(i.InterfaceType)) yield return t;
        foreach (var a in type.CustomAttributes) yield return a.AttributeType;
        foreach (var f in type.Fields) foreach (var t in Expand(f.FieldType)) yield return t;
        foreach (var p in type.Properties) foreach (var t in Expand(p.PropertyType)) yield return t;
        foreach (var m in type.Methods)
        {
            foreach (var t in Expand(m.ReturnType)) yield return t;
            foreach (var p in m.Parameters) foreach (var t in Expand(p.ParameterType)) yield return t;
            if (!m.HasBody) continue;
            foreach (var v in m.Body.Variables) foreach (var t in Expand(v.VariableType)) yield return t;
            foreach (var ins in m.Body.Instructions)
            {
                switch (ins.Operand)
                {
                    case TypeReference t:
                        foreach (var u in Expand(t)) yield return u;
                        break;
                    case MethodReference mr:
                        foreach (var u in Expand(mr.DeclaringType)) yield return u;
                        foreach (var u in Expand(mr.ReturnType)) yield return u;
                        foreach (var p in mr.Parameters) foreach (var u in Expand(p.ParameterType)) yield return u;
                        if (mr is GenericInstanceMethod gm) foreach (var a in gm.GenericArguments) foreach (var u in Expand(a)) yield return u;
                        break;
                    case FieldReference fr:
                        foreach (var u in Expand(fr.DeclaringType)) yield return u;
                        foreach (var u in Expand(fr.FieldType)) yield return u;
                        break;
                }
            }
        }
    }

    /// <summary>A type and, for arrays, pointers and generic instances, the types inside it.</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference type)
    {
        yield return type;
        if (type is GenericInstanceType g)
            foreach (var a in g.GenericArguments) foreach (var t in Expand(a)) yield return t;
        if (type is TypeSpecification spec && spec.ElementType != type)
            foreach (var t in Expand(spec.ElementType)) yield return t;
    }
}
