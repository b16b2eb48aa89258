using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Noisette.Studio;

namespace Noisette.Tests.Studio;

/// <summary>
/// The page's code as ES modules: each served as JavaScript, every import found, and the event and phase names read
/// from the server (js/names.js, written from StudioEvents) rather than spelt again in a page.
/// </summary>
public partial class StudioPageCodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The event names the server sends: each payload type's, and the stream's first frame.</summary>
    private static HashSet<string> PublishedEventNames() =>
    [
        StudioEvents.Hello,
        .. typeof(IStudioEvent).Assembly.GetTypes()
            .Where(t => typeof(IStudioEvent).IsAssignableFrom(t) && !t.IsInterface)
            .Select(t => (string)t.GetProperty(nameof(IStudioEvent.EventName), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!),
    ];

    private static Dictionary<string, string> Exported(string module, string name)
    {
        var m = Regex.Match(module, $@"export const {name} = Object\.freeze\((\{{.*?\}})\);");
        Assert.True(m.Success, $"names.js exports no {name}: {module}");
        return JsonSerializer.Deserialize<Dictionary<string, string>>(m.Groups[1].Value)!;
    }

    [Fact]
    public async Task EveryEventTheServerPublishesIsNamedInThePagesNames()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        var names = await c.GetStringAsync(Endpoints.NamesModulePath, Ct);
        var events = Exported(names, "Events");
        var published = PublishedEventNames();
        Assert.True(published.Count >= 7, $"only {published.Count} event types found: {string.Join(", ", published)}");
        foreach (var name in published) Assert.Contains(name, events.Values);
        // …and the page is told of no event the server never sends.
        Assert.Equal(published.Order(StringComparer.Ordinal), events.Values.Order(StringComparer.Ordinal));
        Assert.Equal("progress", events["Progress"]);

        // The phases are the strings the API writes for a job.
        var phases = Exported(names, "Phases");
        Assert.Equal(Enum.GetNames<JobPhase>().Order(StringComparer.Ordinal), phases.Keys.Order(StringComparer.Ordinal));
        foreach (var phase in Enum.GetValues<JobPhase>())
        {
            var job = JsonSerializer.Serialize(new JobView("r", "new", phase, 0, 1, false, null, null, null), JsonSerializerOptions.Web);
            Assert.Contains($"\"phase\":\"{phases[phase.ToString()]}\"", job);
        }
        Assert.Equal("training", phases["Training"]);
    }

    [Fact]
    public void EventsCanOnlyBePublishedAsTheirTypedPayloads()
    {
        // A string name and an anonymous payload no longer compile: every Publish takes a record that names its event.
        var publish = typeof(EventHub).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Where(m => m.Name == nameof(EventHub.Publish)).ToList();
        Assert.NotEmpty(publish);
        foreach (var m in publish)
        {
            Assert.True(m.IsGenericMethodDefinition, $"{m} takes no typed payload");
            Assert.Contains(typeof(IStudioEvent), m.GetGenericArguments().Single().GetGenericParameterConstraints());
            Assert.DoesNotContain(m.GetParameters(), p => p.ParameterType == typeof(string));
        }
    }

    /// <summary>The modules the page loads, from /app.js along its imports, with their text.</summary>
    private static async Task<Dictionary<string, string>> LoadedModules(HttpClient c)
    {
        var html = await c.GetStringAsync("/", Ct);
        Assert.Matches(@"<script type=""module"" src=""/app.js"">", html);
        var modules = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new Queue<string>(["/app.js"]);
        while (pending.TryDequeue(out var path))
        {
            if (modules.ContainsKey(path)) continue;
            using var response = await c.GetAsync(path, Ct);
            Assert.True(response.IsSuccessStatusCode, $"{path} is imported but answers {(int)response.StatusCode}");
            // A module must come as JavaScript: browsers refuse a module of another type (and the studio sends nosniff).
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync(Ct);
            modules[path] = text;
            foreach (Match m in Import().Matches(Comments().Replace(text, "")))
            {
                var spec = m.Groups["spec"].Value;
                Assert.True(spec.StartsWith("./", StringComparison.Ordinal) || spec.StartsWith("../", StringComparison.Ordinal), $"{path} imports {spec}, not a file of the studio");
                pending.Enqueue(new Uri(new Uri("http://studio" + path), spec).AbsolutePath);
            }
        }
        return modules;
    }

    [Fact]
    public async Task ModulesAreServedAsJavaScriptAndEveryImportIsFound()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        var modules = await LoadedModules(c);
        // Every embedded script is one the page loads (none is left behind by a split), and names.js comes from the server.
        var embedded = StudioHost.WebFiles.Keys.Where(k => k.EndsWith(".js", StringComparison.Ordinal)).Select(k => "/" + k).Append(Endpoints.NamesModulePath);
        Assert.Equal(embedded.Order(StringComparer.Ordinal), modules.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("/js/pages/train.js", modules.Keys);
        Assert.True(modules.Count >= 12, $"{modules.Count} modules");
        foreach (var (path, text) in modules)
        {
            Assert.DoesNotMatch(new Regex(@"https?://", RegexOptions.IgnoreCase), Comments().Replace(text, ""));
            Assert.DoesNotContain("@import", text);
        }
    }

    [Fact]
    public async Task NoPageModuleSpellsAnEventOrPhaseName()
    {
        using var f = new StudioFactory();
        using var c = f.Client(token: false);
        var modules = await LoadedModules(c);
        modules.Remove(Endpoints.NamesModulePath);
        string[] names = [.. StudioEvents.Names.Values, .. StudioEvents.Phases.Values];
        foreach (var (path, text) in modules)
            Assert.True(HardCoded(text, names).Count == 0, $"{path} spells {string.Join(", ", HardCoded(text, names))}; use Events.… or Phases.… from names.js");

        // The check finds what it is for, and lets the names read from the server pass.
        Assert.Equal(["runs"], HardCoded("""on("runs", () => list());""", names));
        Assert.Equal(["queue"], HardCoded("source.addEventListener('queue', e => render(e));", names));
        Assert.Equal(["progress"], HardCoded("if (type === \"progress\") draw();", names));
        Assert.Equal(["training"], HardCoded("const busy = \"training\" !== c.phase;", names));
        Assert.Equal(["failed"], HardCoded("switch (t) { case 'failed': notify(); }", names));
        Assert.Empty(HardCoded("""on(Events.Runs, () => list()); if (c.phase === Phases.Training) go("#/runs");""", names));
    }

    /// <summary>The names spelt as string literals where an event is subscribed to or a name is compared.</summary>
    private static List<string> HardCoded(string code, IEnumerable<string> names)
    {
        var literal = $@"(?<q>[""'`])(?<name>{string.Join("|", names.Select(Regex.Escape))})\k<q>";
        var use = new Regex($@"\b(?:on|addEventListener)\s*\(\s*{literal}|(?:[!=]==?|\bcase)\s*{literal}|{literal}\s*[!=]==?");
        return use.Matches(Comments().Replace(code, "")).Select(m => m.Groups["name"].Value).ToList();
    }

    [GeneratedRegex(@"\bimport\b[^;]*?\bfrom\s*""(?<spec>[^""]+)""|\bimport\s*""(?<spec>[^""]+)""")]
    private static partial Regex Import();
    [GeneratedRegex(@"/\*.*?\*/|(?<![:""'\\])//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();
}
